//! What a run did, step by step: recorded only when the caller asks
//! (replays, tests, crash reports), never on the fuzzing hot path.

use crate::kernel::machine::Op;
use crate::kernel::state::Tid;

/// One performed step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceStep {
    /// Step index (the schedule position).
    pub index: u32,
    /// The thread that moved.
    pub thread: Tid,
    /// Its model call chain, outermost first; the last frame is the model
    /// function that performed the access.
    pub stack: Vec<&'static str>,
    /// The access.
    pub op: Op,
    /// The filename's `refcnt` before the access (for filename accesses), or
    /// `None`.
    pub before: Option<i32>,
    /// `refcnt` after it (`None` after a free), or the request / count for
    /// queue operations.
    pub after: Option<i32>,
    /// Ghost holders of the filename after the access.
    pub holders: u8,
}

impl TraceStep {
    /// The model function that performed the access.
    pub fn function(&self) -> &'static str {
        self.stack.last().copied().unwrap_or("(thread start)")
    }

    /// Whether the step changed `refcnt` (alloc, store, atomic rmw).
    pub fn is_refcount_update(&self) -> bool {
        matches!(
            self.op,
            Op::Alloc(_) | Op::Store(..) | Op::AtomicInc(_) | Op::AtomicDecAndTest(_)
        )
    }
}

/// A refcount update: thread, model function, value after.
pub type Update = (Tid, &'static str, i32);

/// All steps of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// Steps in the order they ran.
    pub steps: Vec<TraceStep>,
}

impl Trace {
    /// Every `refcnt` update, in order: thread, the model function that made
    /// it, and the value after.
    pub fn refcount_updates(&self) -> Vec<Update> {
        self.steps
            .iter()
            .filter(|s| s.is_refcount_update())
            .map(|s| (s.thread, s.function(), s.after.unwrap_or(0)))
            .collect()
    }
}
