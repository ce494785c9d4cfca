//! Explanations: a violation in words, the refcount history as the seed
//! document tabulates it (thread, call chain, change), a kernel-style call
//! trace of the failing thread, and the interleaving step by step.

use crate::executor::Outcome;
use crate::kernel::era::Era;
use crate::kernel::machine::Op;
use crate::kernel::state::{EntryChange, FileId, KernelState, Tid};
use crate::oracle::{Kind, KindSet, Object, Site, Violation};
use crate::program::Program;
use crate::trace::{Trace, TraceStep};
use std::fmt::Write;

/// Thread display names plus the kernel's `comm` for each.
pub struct Names {
    names: Vec<String>,
    comms: Vec<&'static str>,
}

impl Names {
    /// Names for `program`'s threads.
    pub fn new(program: &Program) -> Names {
        let names = program.thread_names();
        let comms = (0..names.len())
            .map(|i| program.comm(Tid(i as u8)))
            .collect();
        Names { names, comms }
    }

    /// The short name of `t` (`S`, `W1`, …).
    pub fn of(&self, t: Tid) -> &str {
        self.names.get(t.ix()).map(String::as_str).unwrap_or("?")
    }

    /// All short names.
    pub fn all(&self) -> &[String] {
        &self.names
    }

    fn long(&self, t: Tid) -> String {
        format!(
            "{} ({})",
            self.of(t),
            self.comms.get(t.ix()).copied().unwrap_or("?")
        )
    }
}

/// `name#0 ("p0")`.
pub fn filename_label(k: &KernelState, f: FileId) -> String {
    match k.filenames.get(f.0 as usize) {
        Some(n) => format!("name#{} (\"{}\")", f.0, n.path),
        None => format!("name#{}", f.0),
    }
}

fn object_label(k: &KernelState, names: &Names, o: Object) -> String {
    match o {
        Object::Filename(f) => filename_label(k, f),
        Object::Entry(e) => {
            let refs: Vec<&str> = names.all().iter().map(String::as_str).collect();
            k.entry_label(e, &refs)
        }
    }
}

fn site(names: &Names, s: &Site) -> String {
    format!(
        "{} in {} at step {}",
        names.of(s.thread),
        s.function,
        s.step
    )
}

/// One violation in one sentence.
pub fn describe(v: &Violation, k: &KernelState, names: &Names, era: Era) -> String {
    let obj = object_label(k, names, v.object);
    let other = v.other.as_ref().map(|o| site(names, o)).unwrap_or_default();
    let at = site(names, &v.site);
    match v.kind {
        Kind::Underflow => format!(
            "{}: {at} saw refcnt {} of {obj} ({})",
            v.kind,
            v.value,
            era.putname_check()
        ),
        Kind::UseAfterFree => format!(
            "{}: {at}: {} of {obj}, which {other} had freed",
            v.kind, v.access
        ),
        Kind::DoubleFree => format!("{}: {at} freed {obj} again; {other} freed it first", v.kind),
        Kind::Leak => format!(
            "{}: {obj} was never freed: refcnt {} with {} holder(s) left (allocated by {other})",
            v.kind, v.value, v.holders_left
        ),
        Kind::LostUpdate => format!(
            "{}: {at} stored refcnt {} of {obj}, computed from an earlier load; the update {other} made in between is lost",
            v.kind, v.value
        ),
        Kind::StaleAuditEntry => format!(
            "{}: {at}: {} of {obj} through name->aname, but the entry was {} by {other}",
            v.kind,
            v.access,
            match v.change {
                Some(EntryChange::Reset) => "reset (audit_free_names)",
                Some(EntryChange::Reused) => "reused for another name (audit_alloc_name)",
                Some(EntryChange::Freed) => "kfree'd (audit_free_names)",
                None => "changed",
            }
        ),
    }
}

/// One access in words: `load refcnt of name#0 ("p0")`, `list_del S.preallocated_names[0]`.
pub fn op_text(op: Op, k: &KernelState, names: &Names) -> String {
    let ent = |e| {
        let refs: Vec<&str> = names.all().iter().map(String::as_str).collect();
        k.entry_label(e, &refs)
    };
    match op {
        Op::Alloc(f) => format!("alloc {}", filename_label(k, f)),
        Op::Load(f) => format!("load refcnt of {}", filename_label(k, f)),
        Op::Store(f, v) => format!("store refcnt = {v} to {}", filename_label(k, f)),
        Op::AtomicInc(f) => format!("atomic_inc refcnt of {}", filename_label(k, f)),
        Op::AtomicRead(f) => format!("atomic_read refcnt of {}", filename_label(k, f)),
        Op::AtomicDecAndTest(f) => {
            format!("atomic_dec_and_test refcnt of {}", filename_label(k, f))
        }
        Op::Free(f) => format!("free {}", filename_label(k, f)),
        Op::AnameLoad(f) => format!("read {}->aname", filename_label(k, f)),
        Op::AnameStore(f, e) => format!("{}->aname = {}", filename_label(k, f), ent(e)),
        Op::NameRead(f) => format!("read {}->name", filename_label(k, f)),
        Op::EntryRead(e) => format!("read {}.type", ent(e)),
        Op::EntryWrite(e) => format!("write {}.type, ino", ent(e)),
        Op::EntryMemset(e) => format!("memset {} for a new name", ent(e)),
        Op::EntryUnlink(e) => format!("list_del {}", ent(e)),
        Op::EntryFree(e) => format!("kfree {}", ent(e)),
        Op::Enqueue(r) => format!("queue request {} to io-wq", r.0),
        Op::Dequeue => "take work from io-wq".to_string(),
        Op::SqPost => "post SQEs to the SQPOLL ring".to_string(),
        Op::SqTake => "take an SQE from the ring".to_string(),
        Op::Send(t) => format!("hand off n{t}"),
        Op::Receive(t) => format!("take over n{t}"),
    }
}

fn change_text(s: &TraceStep) -> String {
    match (s.op, s.before, s.after) {
        (Op::Alloc(_), _, _) => "refcnt = 1".to_string(),
        (Op::Free(_), _, _) => "freed".to_string(),
        (_, Some(b), Some(a)) if a > b => format!("+1 (= {a})"),
        (_, Some(_), Some(a)) => format!("-1 (= {a})"),
        _ => String::new(),
    }
}

/// The refcount history of every filename: the seed document's table.
pub fn refcount_table(trace: &Trace, k: &KernelState, names: &Names) -> String {
    let mut out = String::new();
    for (i, _) in k.filenames.iter().enumerate() {
        let f = FileId(i as u16);
        writeln!(out, "refcount updates of {}:", filename_label(k, f)).ok();
        writeln!(
            out,
            "  {:>3} {:>5}  {:<6} {:<14} call chain",
            "#", "step", "thread", "change"
        )
        .ok();
        let mut n = 0;
        for s in trace.steps.iter().filter(|s| s.op.filename() == Some(f)) {
            if !(s.is_refcount_update() || matches!(s.op, Op::Free(_))) {
                continue;
            }
            n += 1;
            writeln!(
                out,
                "  {n:>3} {:>5}  {:<6} {:<14} {}",
                s.index,
                names.of(s.thread),
                change_text(s),
                s.stack.join(" → ")
            )
            .ok();
        }
    }
    out
}

/// A kernel-style call trace (innermost first) of `t` at step `step`.
pub fn call_trace(trace: &Trace, t: Tid, step: u32) -> String {
    let s = trace
        .steps
        .iter()
        .rfind(|s| s.thread == t && s.index <= step);
    let mut out = String::from("Call Trace:\n");
    if let Some(s) = s {
        for f in s.stack.iter().rev() {
            writeln!(out, "  {f}").ok();
        }
    }
    out
}

/// Every step: index, thread, function, access, refcount before → after,
/// ghost holders; the steps where violations happened are marked.
pub fn interleaving(trace: &Trace, k: &KernelState, names: &Names, marks: &[&Violation]) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "  {:>5}  {:<6} {:<22} {:<58} refcnt",
        "step", "thread", "function", "access"
    )
    .ok();
    for s in &trace.steps {
        let rc = match (s.op.filename(), s.before, s.after) {
            (Some(_), Some(b), Some(a)) if a != b => format!("{b} → {a}"),
            (Some(_), Some(b), None) => format!("{b} → freed"),
            (Some(_), None, Some(a)) => format!("→ {a}"),
            (Some(_), Some(b), _) => format!("{b}"),
            _ => String::new(),
        };
        let holders = if s.op.filename().is_some() {
            format!("  holders {}", s.holders)
        } else {
            String::new()
        };
        let mark: Vec<&str> = marks
            .iter()
            .filter(|v| v.site.step == s.index && v.site.thread == s.thread)
            .map(|v| v.kind.as_str())
            .collect();
        let mark = if mark.is_empty() {
            String::new()
        } else {
            format!("   <== {}", mark.join(", "))
        };
        writeln!(
            out,
            "  {:>5}  {:<6} {:<22} {:<58} {rc}{holders}{mark}",
            s.index,
            names.of(s.thread),
            s.function(),
            op_text(s.op, k, names),
        )
        .ok();
    }
    out
}

/// The full explanation of a traced outcome's violations in `kinds`.
pub fn explain(
    program: &Program,
    outcome: &Outcome,
    kinds: KindSet,
    schedule_text: &str,
    input_text: &str,
) -> String {
    let names = Names::new(program);
    let k = &outcome.kernel;
    let failures: Vec<&Violation> = outcome.failures(kinds).collect();
    let mut out = String::new();
    let Some(first) = failures.first() else {
        writeln!(
            out,
            "no violation ({}; {} steps)",
            outcome.era, outcome.steps
        )
        .ok();
        return out;
    };
    // Headline: the manifestation the kernel would show, else the first.
    let headline = failures
        .iter()
        .find(|v| v.kind == Kind::Underflow)
        .or_else(|| failures.iter().find(|v| v.kind == Kind::UseAfterFree))
        .unwrap_or(first);
    writeln!(
        out,
        "filename-refcount [{}]: {} in {} on {} at step {}",
        outcome.era,
        headline.kind,
        headline.site.function,
        names.long(headline.site.thread),
        headline.site.step
    )
    .ok();
    writeln!(out, "\nviolations, in order:").ok();
    for v in &failures {
        writeln!(out, "  - {}", describe(v, k, &names, outcome.era)).ok();
    }
    if let Some(trace) = &outcome.trace {
        writeln!(
            out,
            "\n{} ({}), at step {}:",
            names.long(headline.site.thread),
            outcome.era,
            headline.site.step
        )
        .ok();
        out.push_str(&call_trace(trace, headline.site.thread, headline.site.step));
        writeln!(out).ok();
        out.push_str(&refcount_table(trace, k, &names));
        writeln!(out, "\ninterleaving:").ok();
        out.push_str(&interleaving(trace, k, &names, &failures));
    }
    writeln!(out, "\nschedule: {schedule_text}").ok();
    writeln!(
        out,
        "\nreproducer (text format; `filename-refcount replay` reads it):\n{input_text}"
    )
    .ok();
    out
}
