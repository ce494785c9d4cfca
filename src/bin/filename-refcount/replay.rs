//! `replay`: load, run (traced), check, explain.

use crate::error::CliError;
use crate::load::{self, level_words};
use crate::{swimlane, Selection, Status};
use filename_refcount::executor::Outcome;
use filename_refcount::harness::{self, Input, Target};
use filename_refcount::kernel::machine::{Op, Status as ThreadStatus};
use filename_refcount::kernel::state::KernelState;
use filename_refcount::oracle::{Object, Violation};
use filename_refcount::program::{Program, Role};
use filename_refcount::report::{self, Names};
use filename_refcount::text::schedule_to_text;
use filename_refcount::trace::TraceStep;
use filename_refcount::{Era, Kind, KindSet};
use std::fmt::Write;
use std::path::Path;

/// Flags that apply to every file.
pub struct Options {
    /// `--target` / `--level`.
    pub sel: Selection,
    /// `--kernel`.
    pub kernel: Option<Era>,
    /// `--kinds`.
    pub kinds: Option<KindSet>,
    /// `--raw`.
    pub raw: bool,
}

/// A violation mark on a step: the kind and whether it counts.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    /// The kind.
    pub kind: Kind,
    /// Whether `--kinds` counts it.
    pub counted: bool,
}

/// One step, ready for display.
#[derive(Clone, Debug)]
pub struct StepView {
    /// Step index.
    pub index: u32,
    /// Thread index.
    pub thread: usize,
    /// Innermost model function.
    pub function: &'static str,
    /// Call chain, outermost first.
    pub stack: Vec<&'static str>,
    /// `Op::kind()`.
    pub operation: &'static str,
    /// `name#0`, an `audit_names` entry label, `req#0`, `n3`.
    pub object: Option<String>,
    /// The report's description of the access.
    pub detail: String,
    /// `refcnt` before (filename accesses).
    pub before: Option<i32>,
    /// `refcnt` after (filename accesses; `None` after a free).
    pub after: Option<i32>,
    /// Ghost holders after (filename accesses).
    pub holders: Option<u8>,
    /// Whether the step touched a filename.
    pub on_filename: bool,
    /// Whether the step freed the filename.
    pub frees: bool,
    /// Violations that happened at this step.
    pub marks: Vec<Mark>,
}

/// One replayed file.
pub struct Replayed {
    /// The path as given.
    pub file: String,
    /// The input.
    pub input: Input,
    /// The era it ran in.
    pub era: Era,
    /// `--target`.
    pub target: Option<Target>,
    /// Kinds that count.
    pub kinds: KindSet,
    /// The program.
    pub program: Program,
    /// Thread names.
    pub names: Vec<String>,
    /// The traced outcome.
    pub outcome: Outcome,
    /// Whether the run failed (counted kinds).
    pub failed: bool,
    /// `report::explain` (or the target's failure report).
    pub explanation: String,
    /// The steps.
    pub steps: Vec<StepView>,
}

impl Replayed {
    /// Exit status for this file.
    pub fn status(&self) -> Status {
        if self.failed {
            Status::Violation
        } else {
            Status::Clean
        }
    }

    /// Counted violations, in order.
    pub fn counted(&self) -> Vec<&Violation> {
        self.outcome.failures(self.kinds).collect()
    }

    /// Violations of kinds not counted, in order.
    pub fn uncounted(&self) -> Vec<&Violation> {
        self.outcome
            .violations
            .iter()
            .filter(|v| !self.kinds.contains(v.kind))
            .collect()
    }

    /// The kernel state at the end.
    pub fn kernel(&self) -> &KernelState {
        &self.outcome.kernel
    }

    /// The schedule, as the text format's slices.
    pub fn schedule_text(&self) -> String {
        schedule_to_text(self.input.schedule(), &self.names)
    }
}

/// `refcount`, `stale`, `all` or the kind names.
pub fn kinds_text(k: KindSet) -> String {
    match k {
        KindSet::REFCOUNT => "refcount".into(),
        KindSet::STALE => "stale".into(),
        KindSet::ALL => "all".into(),
        _ => kinds_list(k).join(","),
    }
}

/// The kinds in a set.
pub fn kinds_list(k: KindSet) -> Vec<&'static str> {
    Kind::ALL
        .into_iter()
        .filter(|x| k.contains(*x))
        .map(Kind::as_str)
        .collect()
}

/// Role names for JSON and headers.
pub fn role_name(r: &Role) -> &'static str {
    match r {
        Role::Task { .. } => "task",
        Role::SqPoll => "sqpoll",
        Role::Worker => "worker",
        Role::Ops(_) => "ops",
    }
}

/// `done`, `dead` (oopsed), `blocked`.
pub fn thread_status(s: ThreadStatus) -> &'static str {
    match s {
        ThreadStatus::Done => "done",
        ThreadStatus::Dead => "dead",
        ThreadStatus::Ready => "blocked",
    }
}

/// The label of a violation's object.
pub fn object_label(k: &KernelState, names: &[String], o: Object) -> String {
    match o {
        Object::Filename(f) => format!("name#{}", f.0),
        Object::Entry(e) => {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            k.entry_label(e, &refs)
        }
    }
}

fn step_object(s: &TraceStep, k: &KernelState, names: &[String]) -> Option<String> {
    if let Some(f) = s.op.filename() {
        return Some(format!("name#{}", f.0));
    }
    if let Some(e) = s.op.entry() {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        return Some(k.entry_label(e, &refs));
    }
    match s.op {
        Op::Enqueue(r) => Some(format!("req#{}", r.0)),
        Op::Dequeue => s.after.map(|r| format!("req#{r}")),
        Op::Send(t) | Op::Receive(t) => Some(format!("n{t}")),
        _ => None,
    }
}

fn step_views(outcome: &Outcome, program: &Program, kinds: KindSet) -> Vec<StepView> {
    let Some(trace) = &outcome.trace else {
        return Vec::new();
    };
    let names = Names::new(program);
    let all = names.all().to_vec();
    let k = &outcome.kernel;
    trace
        .steps
        .iter()
        .map(|s| {
            let object = step_object(s, k, &all);
            let on_filename = s.op.filename().is_some();
            let marks = outcome
                .violations
                .iter()
                .filter(|v| v.site.step == s.index && v.site.thread == s.thread)
                .map(|v| Mark {
                    kind: v.kind,
                    counted: kinds.contains(v.kind),
                })
                .collect();
            StepView {
                index: s.index,
                thread: s.thread.ix(),
                function: s.function(),
                stack: s.stack.clone(),
                operation: s.op.kind(),
                detail: report::op_text(s.op, k, &names),
                object,
                before: if on_filename { s.before } else { None },
                after: if on_filename { s.after } else { None },
                holders: on_filename.then_some(s.holders),
                on_filename,
                frees: matches!(s.op, Op::Free(_)),
                marks,
            }
        })
        .collect()
}

/// The message of a caught panic.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Load, run and explain one file.
pub fn replay_file(path: &Path, opts: &Options) -> Result<Replayed, CliError> {
    let file = path.display().to_string();
    let bytes = load::read(path)?;
    let source = load::classify(&file, bytes, opts.raw, opts.sel.level.is_some())?;
    let (input, text_era) = load::input(&file, source, &opts.sel)?;
    let era = opts
        .kernel
        .or(text_era)
        .or(opts.sel.target.map(Target::era))
        .ok_or_else(|| CliError::file(&file, "no kernel era: pass --kernel v5.16|v6.6|v7.0"))?;
    let kinds = opts
        .kinds
        .or(opts.sel.target.map(Target::fails_on))
        .unwrap_or(KindSet::REFCOUNT);
    let target = opts.sel.target;
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(&file, input, era, target, kinds)
    }));
    match run {
        Ok(r) => Ok(r),
        Err(p) => Err(CliError::file(
            &file,
            format!(
                "internal error: the model panicked: {}",
                panic_message(p.as_ref())
            ),
        )),
    }
}

fn run(file: &str, input: Input, era: Era, target: Option<Target>, kinds: KindSet) -> Replayed {
    let program = input.program();
    let names = program.thread_names();
    let outcome = input.run(era, true);
    let mut failed = outcome.first_failure(kinds).is_some();
    // With the target's own era and kinds, the verdict and report are
    // exactly the fuzz target's.
    let mut target_report = None;
    if let Some(t) = target.filter(|t| t.era() == era && t.fails_on() == kinds) {
        let checked = harness::check(t, &input);
        if checked.is_err() != failed {
            eprintln!(
                "warning: {file}: the untraced run (harness::check) and the traced run disagree"
            );
        }
        if let Err(f) = checked {
            failed = true;
            target_report = Some(f.report);
        }
    }
    let explanation = target_report.unwrap_or_else(|| {
        report::explain(
            &program,
            &outcome,
            kinds,
            &schedule_to_text(input.schedule(), &names),
            &input.to_text(Some(era)),
        )
    });
    let steps = step_views(&outcome, &program, kinds);
    Replayed {
        file: file.to_string(),
        input,
        era,
        target,
        kinds,
        program,
        names,
        outcome,
        failed,
        explanation,
        steps,
    }
}

/// The human-readable report: verdict, explanation, swimlane.
pub fn human(r: &Replayed) -> String {
    let mut out = String::new();
    let target = r
        .target
        .map(|t| format!(", target {t}"))
        .unwrap_or_default();
    writeln!(
        out,
        "== {}: {} input, kernel {}{target}, counting {} kinds ==",
        r.file,
        level_words(r.input.level()),
        r.era,
        kinds_text(r.kinds)
    )
    .ok();
    let names = Names::new(&r.program);
    let counted = r.counted();
    if counted.is_empty() {
        writeln!(out, "verdict: clean ({} steps)", r.outcome.steps).ok();
    } else {
        writeln!(out, "verdict: {} violation(s)", counted.len()).ok();
        for v in &counted {
            writeln!(
                out,
                "  - {}",
                report::describe(v, r.kernel(), &names, r.era)
            )
            .ok();
        }
    }
    let mut other: Vec<Kind> = r.uncounted().iter().map(|v| v.kind).collect();
    other.sort();
    other.dedup();
    let other: Vec<&str> = other.into_iter().map(Kind::as_str).collect();
    if !other.is_empty() {
        writeln!(
            out,
            "note: also found {}, not counted (--kinds all counts every kind)",
            other.join(", ")
        )
        .ok();
    }
    let ends: Vec<String> = r
        .names
        .iter()
        .zip(&r.outcome.threads)
        .map(|(n, s)| format!("{n} {}", thread_status(*s)))
        .collect();
    writeln!(out, "threads at the end: {}", ends.join(", ")).ok();
    writeln!(out, "\n--- explanation ---").ok();
    out.push_str(&r.explanation);
    if !r.explanation.ends_with('\n') {
        out.push('\n');
    }
    writeln!(out, "\n--- swimlane ---").ok();
    out.push_str(&swimlane::render(r));
    out
}
