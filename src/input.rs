//! Fuzzer inputs: what a byte string decodes to, at each level.
//!
//! * [`ScenarioInput`]: a [`Scenario`] and a [`Schedule`].
//! * [`OpsInput`]: thread-tagged model operations in one global order (the
//!   order they were generated in, which keeps every hand-off's receive
//!   after its send) and a [`Schedule`].
//!
//! Both print as the text format ([`crate::text`]) through `Debug`, which is
//! what `cargo fuzz fmt` shows.

use crate::kernel::state::AuditConfig;
use crate::ops::{OpStep, OpsThread};
use crate::program::{Program, Role, Schedule};
use crate::scenario::Scenario;

/// A scenario-level input.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct ScenarioInput {
    /// The io_uring situation.
    pub scenario: Scenario,
    /// The interleaving.
    pub schedule: Schedule,
}

impl ScenarioInput {
    /// The program the scenario compiles to.
    pub fn program(&self) -> Program {
        self.scenario.compile()
    }
}

/// Most operation-level threads.
pub const MAX_OPS_THREADS: u8 = 4;

/// An operation-level input.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OpsInput {
    /// The audit configuration.
    pub audit: AuditConfig,
    /// Number of threads (`T0`…).
    pub threads: u8,
    /// `(thread, operation)` in generation order.
    pub ops: Vec<(u8, OpStep)>,
    /// The interleaving.
    pub schedule: Schedule,
}

impl Default for OpsInput {
    fn default() -> Self {
        OpsInput {
            audit: AuditConfig::Rules,
            threads: 2,
            ops: Vec::new(),
            schedule: Schedule::default(),
        }
    }
}

impl OpsInput {
    /// One [`Role::Ops`] thread per thread index, each with its operations
    /// in order.
    pub fn program(&self) -> Program {
        let n = self.threads.clamp(1, MAX_OPS_THREADS) as usize;
        let mut threads = vec![OpsThread::default(); n];
        for &(t, op) in &self.ops {
            if let Some(th) = threads.get_mut(t as usize) {
                th.ops.push(op);
            }
        }
        Program {
            audit: self.audit,
            threads: threads.into_iter().map(Role::Ops).collect(),
        }
    }
}
