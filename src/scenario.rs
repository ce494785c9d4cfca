//! Scenarios: the io_uring situations a user or the fuzzer describes —
//! audit configuration, the task's system calls and SQEs, SQPOLL, io-wq
//! workers — and their compilation into a [`Program`].

use crate::kernel::state::{AuditConfig, Sqe};
use crate::kernel::task::Syscall;
use crate::program::{Program, Role};

/// Most io-wq workers a scenario can have.
pub const MAX_WORKERS: u8 = 3;
/// Most system calls of the task.
pub const MAX_SYSCALLS: usize = 4;
/// Most SQEs in one io_uring_enter.
pub const MAX_SQES: usize = 8;
/// Most distinct user pointers.
pub const MAX_UPTRS: u8 = 8;

/// One io_uring situation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Scenario {
    /// Audit off, enabled without rules (dummy), or with rules.
    pub audit: AuditConfig,
    /// The ring is served by an SQPOLL thread.
    pub sqpoll: bool,
    /// io-wq workers (at least 1).
    pub workers: u8,
    /// The task's system calls, in order.
    pub syscalls: Vec<Syscall>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            audit: AuditConfig::Rules,
            sqpoll: false,
            workers: 1,
            syscalls: Vec::new(),
        }
    }
}

impl Scenario {
    /// A scenario with one io_uring_enter submitting `sqes`.
    pub fn uring(audit: AuditConfig, sqes: &[Sqe]) -> Scenario {
        Scenario {
            audit,
            syscalls: vec![Syscall::IoUringEnter(sqes.to_vec())],
            ..Scenario::default()
        }
    }

    /// Compile into one program per thread, in this order: the task `S`,
    /// the SQPOLL thread `Q` if any, then workers `W1`…. The kernel's
    /// orderings come with the threads: a worker runs a request only after
    /// it was queued; the SQPOLL thread submits only what the task posted;
    /// the task's syscall exit follows its submissions.
    pub fn compile(&self) -> Program {
        let mut threads = Vec::with_capacity(2 + self.workers as usize);
        threads.push(Role::Task {
            syscalls: self.syscalls.clone(),
            sqpoll: self.sqpoll,
        });
        if self.sqpoll {
            threads.push(Role::SqPoll);
        }
        for _ in 0..self.workers.clamp(1, MAX_WORKERS) {
            threads.push(Role::Worker);
        }
        Program {
            audit: self.audit,
            threads,
        }
    }
}
