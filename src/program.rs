//! A program: what each thread runs, plus the schedule that interleaves
//! them. Scenarios compile into programs; the operation-level decoder
//! builds them directly; the executor runs them.

use crate::kernel::state::{AuditConfig, Tid};
use crate::kernel::task::Syscall;
use crate::ops::OpsThread;

/// What one thread runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// A user task making system calls; `sqpoll` says whether its ring is
    /// served by an SQPOLL thread.
    Task {
        /// The system calls, in order.
        syscalls: Vec<Syscall>,
        /// The ring uses IORING_SETUP_SQPOLL.
        sqpoll: bool,
    },
    /// The SQPOLL thread (`iou-sqp`).
    SqPoll,
    /// An io-wq worker (`iou-wrk`).
    Worker,
    /// An operation-level thread: explicit model operations.
    Ops(OpsThread),
}

/// Threads and the audit configuration.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Program {
    /// The audit configuration.
    pub audit: AuditConfig,
    /// The threads; a thread's index is its [`Tid`].
    pub threads: Vec<Role>,
}

impl Program {
    /// Short display names: `S` (the task), `Q` (SQPOLL), `W1`… (workers),
    /// `T0`… (operation-level threads).
    pub fn thread_names(&self) -> Vec<String> {
        let tasks = self
            .threads
            .iter()
            .filter(|r| matches!(r, Role::Task { .. }))
            .count();
        let (mut task, mut worker) = (0, 0);
        self.threads
            .iter()
            .enumerate()
            .map(|(i, r)| match r {
                Role::Task { .. } => {
                    task += 1;
                    if tasks == 1 {
                        "S".to_string()
                    } else {
                        format!("S{task}")
                    }
                }
                Role::SqPoll => "Q".to_string(),
                Role::Worker => {
                    worker += 1;
                    format!("W{worker}")
                }
                Role::Ops(_) => format!("T{i}"),
            })
            .collect()
    }

    /// The kernel's name for thread `t` (`comm`): the task, `iou-sqp-…`,
    /// `iou-wrk-…`.
    pub fn comm(&self, t: Tid) -> &'static str {
        match self.threads.get(t.ix()) {
            Some(Role::Task { .. }) => "submitter task",
            Some(Role::SqPoll) => "iou-sqp",
            Some(Role::Worker) => "iou-wrk",
            Some(Role::Ops(_)) => "kernel thread",
            None => "?",
        }
    }
}

/// One slice of a schedule: let `thread` run `steps` steps (0: until it
/// blocks or finishes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Slice {
    /// The thread (an index; one that cannot run hands the slice to the
    /// next runnable thread in index order).
    pub thread: u8,
    /// Steps to run; 0 means until the thread blocks or finishes.
    pub steps: u8,
}

/// The interleaving: slices in order. When they run out, the lowest-index
/// runnable thread runs until it blocks or finishes, and so on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Schedule {
    /// The slices.
    pub slices: Vec<Slice>,
}

impl Schedule {
    /// The empty schedule: the fixed completion order alone.
    pub fn serial() -> Schedule {
        Schedule::default()
    }

    /// A schedule from `(thread, steps)` pairs.
    pub fn of(slices: &[(u8, u8)]) -> Schedule {
        Schedule {
            slices: slices
                .iter()
                .map(|&(thread, steps)| Slice { thread, steps })
                .collect(),
        }
    }
}
