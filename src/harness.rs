//! The fuzz targets' logic, shared by the targets in `fuzz/`, the tests and
//! the command-line tool: decode, run, check, explain.
//!
//! | target | level | era | fails on | expected |
//! |---|---|---|---|---|
//! | `scenario_v5_16` | scenario | v5.16 | refcount kinds | finds violations (the bug) |
//! | `scenario_v6_6` | scenario | v6.6 | refcount kinds | never fails |
//! | `ops_v5_16` | operations | v5.16 | refcount kinds | finds violations |
//! | `ops_v6_6` | operations | v6.6 | refcount kinds | never fails |
//! | `stale_aname_v6_6` | scenario | v6.6 | StaleAuditEntry | finds violations (the unfixed bug) |
//! | `scenario_v7_0` | scenario | v7.0 | every kind | never fails (checks the 7.0 series' claim) |

use crate::decode::{
    ops_from_bytes, ops_to_bytes, scenario_from_bytes, scenario_to_bytes, EncodeError,
};
use crate::executor::{run, Outcome, RunOptions};
use crate::input::{OpsInput, ScenarioInput};
use crate::kernel::era::Era;
use crate::oracle::{Kind, KindSet, Violation};
use crate::program::{Program, Schedule};
use crate::report::explain;
use crate::text::{ops_to_text, scenario_to_text, schedule_to_text};
use std::fmt;

/// The input level of a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    /// Bytes → scenario + schedule.
    Scenario,
    /// Bytes → thread-tagged operations + schedule.
    Ops,
}

/// A fuzz target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Scenario level, Linux 5.16: demonstrates the refcount race.
    ScenarioV5_16,
    /// Scenario level, Linux 6.6: must never fail.
    ScenarioV6_6,
    /// Operation level, Linux 5.16: demonstrates the race beyond io_uring.
    OpsV5_16,
    /// Operation level, Linux 6.6: must never fail.
    OpsV6_6,
    /// Scenario level, Linux 6.6, StaleAuditEntry only: the aname bug the
    /// atomic fix did not touch.
    StaleAnameV6_6,
    /// Scenario level, Linux 7.0, every kind: must never fail — no name is
    /// shared between threads, so the plain `int` is safe and no `aname` is
    /// stale.
    ScenarioV7_0,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 6] = [
        Target::ScenarioV5_16,
        Target::ScenarioV6_6,
        Target::OpsV5_16,
        Target::OpsV6_6,
        Target::StaleAnameV6_6,
        Target::ScenarioV7_0,
    ];

    /// The cargo-fuzz target name.
    pub fn name(self) -> &'static str {
        match self {
            Target::ScenarioV5_16 => "scenario_v5_16",
            Target::ScenarioV6_6 => "scenario_v6_6",
            Target::OpsV5_16 => "ops_v5_16",
            Target::OpsV6_6 => "ops_v6_6",
            Target::StaleAnameV6_6 => "stale_aname_v6_6",
            Target::ScenarioV7_0 => "scenario_v7_0",
        }
    }

    /// The target named `name`.
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The kernel era it runs.
    pub fn era(self) -> Era {
        match self {
            Target::ScenarioV5_16 | Target::OpsV5_16 => Era::V5_16,
            Target::ScenarioV7_0 => Era::V7_0,
            _ => Era::V6_6,
        }
    }

    /// Its input level.
    pub fn level(self) -> Level {
        match self {
            Target::OpsV5_16 | Target::OpsV6_6 => Level::Ops,
            _ => Level::Scenario,
        }
    }

    /// The violation kinds that make it fail.
    pub fn fails_on(self) -> KindSet {
        match self {
            Target::StaleAnameV6_6 => KindSet::STALE,
            Target::ScenarioV7_0 => KindSet::ALL,
            _ => KindSet::REFCOUNT,
        }
    }

    /// Whether it is expected to find failures (it demonstrates a bug), as
    /// opposed to running clean forever in continuous fuzzing.
    pub fn demonstrates_bug(self) -> bool {
        matches!(
            self,
            Target::ScenarioV5_16 | Target::OpsV5_16 | Target::StaleAnameV6_6
        )
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A decoded input of either level.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    /// Scenario level.
    Scenario(ScenarioInput),
    /// Operation level.
    Ops(OpsInput),
}

impl Input {
    /// Decode raw fuzzer bytes at `level` (total).
    pub fn decode(level: Level, data: &[u8]) -> Input {
        match level {
            Level::Scenario => Input::Scenario(scenario_from_bytes(data)),
            Level::Ops => Input::Ops(ops_from_bytes(data)),
        }
    }

    /// The bytes that decode to this input.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        match self {
            Input::Scenario(s) => scenario_to_bytes(s),
            Input::Ops(o) => ops_to_bytes(o),
        }
    }

    /// Its level.
    pub fn level(&self) -> Level {
        match self {
            Input::Scenario(_) => Level::Scenario,
            Input::Ops(_) => Level::Ops,
        }
    }

    /// The program it runs.
    pub fn program(&self) -> Program {
        match self {
            Input::Scenario(s) => s.program(),
            Input::Ops(o) => o.program(),
        }
    }

    /// Its schedule.
    pub fn schedule(&self) -> &Schedule {
        match self {
            Input::Scenario(s) => &s.schedule,
            Input::Ops(o) => &o.schedule,
        }
    }

    /// The text format, with a `kernel` line when `era` is given.
    pub fn to_text(&self, era: Option<Era>) -> String {
        match self {
            Input::Scenario(s) => scenario_to_text(s, era),
            Input::Ops(o) => ops_to_text(o, era),
        }
    }

    /// Run in `era`.
    pub fn run(&self, era: Era, trace: bool) -> Outcome {
        let opts = RunOptions {
            trace,
            ..RunOptions::default()
        };
        run(&self.program(), era, self.schedule(), &opts)
    }
}

/// A target's failure: the violations that count, and the explanation.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The target.
    pub target: Target,
    /// The violations of the kinds the target fails on.
    pub violations: Vec<Violation>,
    /// The explanation (kernel-style), including a text reproducer.
    pub report: String,
}

impl Failure {
    /// The kinds found, in report order, without repeats.
    pub fn kinds(&self) -> Vec<Kind> {
        let mut k: Vec<Kind> = self.violations.iter().map(|v| v.kind).collect();
        k.sort();
        k.dedup();
        k
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.report)
    }
}

/// Run `input` as `target` does: untraced; on a failure, again with a
/// trace to explain it.
pub fn check(target: Target, input: &Input) -> Result<Outcome, Failure> {
    let era = target.era();
    let outcome = input.run(era, false);
    if outcome.first_failure(target.fails_on()).is_none() {
        return Ok(outcome);
    }
    Err(failure(target, input))
}

/// The explained failure of `input` under `target` (re-run with a trace).
fn failure(target: Target, input: &Input) -> Failure {
    let era = target.era();
    let traced = input.run(era, true);
    let program = input.program();
    let names = program.thread_names();
    let report = explain(
        &program,
        &traced,
        target.fails_on(),
        &schedule_to_text(input.schedule(), &names),
        &input.to_text(Some(era)),
    );
    Failure {
        target,
        violations: traced.failures(target.fails_on()).cloned().collect(),
        report: format!("target {target}\n{report}"),
    }
}

/// Decode raw bytes for `target` and check them.
pub fn check_bytes(target: Target, data: &[u8]) -> Result<Outcome, Failure> {
    check(target, &Input::decode(target.level(), data))
}

/// The environment variable that narrows the kinds a fuzz target fails on,
/// e.g. `FILENAME_REFCOUNT_FAIL_ON=Underflow` so that `cargo fuzz tmin`
/// keeps the kind of the crash it minimizes.
pub const FAIL_ON_ENV: &str = "FILENAME_REFCOUNT_FAIL_ON";

/// Parse a comma- or space-separated list of kind names.
pub fn parse_kinds(s: &str) -> Result<KindSet, String> {
    let mut set = KindSet::NONE;
    for word in s.split([',', ' ']).filter(|w| !w.is_empty()) {
        let k = Kind::parse(word).ok_or_else(|| {
            let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            format!(
                "unknown violation kind `{word}`; expected one of {}",
                all.join(", ")
            )
        })?;
        set = set.with(k);
    }
    Ok(set)
}

/// The kinds `target` fails on in this process: its own, narrowed by
/// [`FAIL_ON_ENV`] when set. Read once per process (a fuzz target runs
/// millions of inputs); a bad value stops the process with the reason.
fn fuzz_kinds(target: Target) -> KindSet {
    static NARROW: std::sync::OnceLock<Option<KindSet>> = std::sync::OnceLock::new();
    let narrow = NARROW.get_or_init(|| {
        let v = std::env::var(FAIL_ON_ENV).ok()?;
        match parse_kinds(&v) {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("{FAIL_ON_ENV}: {e}");
                std::process::exit(2);
            }
        }
    });
    match narrow {
        Some(n) => KindSet::from_bits(target.fails_on().bits() & n.bits()),
        None => target.fails_on(),
    }
}

fn fuzz_input(
    target: Target,
    program: &Program,
    schedule: &Schedule,
    input: impl FnOnce() -> Input,
) {
    let kinds = fuzz_kinds(target);
    let outcome = run(program, target.era(), schedule, &RunOptions::default());
    if outcome.first_failure(kinds).is_some() {
        let f = failure(target, &input());
        panic!("{f}");
    }
}

/// The fuzz-target entry for scenario inputs: panics with the explanation
/// on a failure, which is how libFuzzer is told.
pub fn fuzz_scenario(target: Target, input: &ScenarioInput) {
    fuzz_input(target, &input.program(), &input.schedule, || {
        Input::Scenario(input.clone())
    });
}

/// The fuzz-target entry for operation-level inputs.
pub fn fuzz_ops(target: Target, input: &OpsInput) {
    fuzz_input(target, &input.program(), &input.schedule, || {
        Input::Ops(input.clone())
    });
}
