//! Printing inputs as text.

use crate::input::{OpsInput, ScenarioInput};
use crate::kernel::era::Era;
use crate::kernel::state::{AuditConfig, Sqe};
use crate::kernel::task::Syscall;
use crate::ops::OpStep;
use crate::program::Schedule;
use std::fmt::{self, Write};

/// The schedule line's slices: `S` (one step), `S*3`, `W1*` (until the
/// thread blocks or finishes). Thread indices are named with `names`.
pub fn schedule_to_text(schedule: &Schedule, names: &[String]) -> String {
    let mut out = String::new();
    for (i, s) in schedule.slices.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let name = names
            .get(s.thread as usize)
            .cloned()
            .unwrap_or_else(|| format!("#{}", s.thread));
        match s.steps {
            0 => write!(out, "{name}*"),
            1 => write!(out, "{name}"),
            k => write!(out, "{name}*{k}"),
        }
        .ok();
    }
    out
}

/// `schedule S*3 W1*`, or a bare `schedule` for the empty (serial) one.
fn schedule_line(out: &mut String, schedule: &Schedule, names: &[String]) {
    out.push_str("schedule");
    if !schedule.slices.is_empty() {
        out.push(' ');
        out.push_str(&schedule_to_text(schedule, names));
    }
    out.push('\n');
}

fn sqe_text(out: &mut String, sqe: &Sqe) {
    let Sqe {
        op,
        path,
        path2,
        creat,
        trunc,
        exists,
        async_,
        eagain,
    } = *sqe;
    write!(out, "  sqe {} {path}", op.as_str()).ok();
    if op == crate::kernel::state::Opcode::Renameat {
        write!(out, " {path2}").ok();
    }
    out.push_str(if exists { " exists" } else { " missing" });
    for (on, word) in [
        (creat, "creat"),
        (trunc, "trunc"),
        (async_, "async"),
        (eagain, "eagain"),
    ] {
        if on {
            out.push(' ');
            out.push_str(word);
        }
    }
    out.push('\n');
}

/// The lines both levels start with: a comment naming the level, the
/// `kernel` line when `era` is given, and `audit`.
fn header(level: &str, era: Option<Era>, audit: AuditConfig) -> String {
    let mut out = format!("# filename-refcount {level}\n");
    if let Some(era) = era {
        writeln!(out, "kernel {era}").ok();
    }
    writeln!(out, "audit {}", audit.as_str()).ok();
    out
}

/// A scenario input as text; `era` adds a `kernel` line.
pub fn scenario_to_text(input: &ScenarioInput, era: Option<Era>) -> String {
    let ScenarioInput { scenario, schedule } = input;
    let crate::scenario::Scenario {
        audit,
        sqpoll,
        workers,
        syscalls,
    } = scenario;
    let mut out = header("scenario", era, *audit);
    writeln!(out, "sqpoll {}", if *sqpoll { "yes" } else { "no" }).ok();
    writeln!(out, "workers {workers}").ok();
    for sc in syscalls {
        match sc {
            Syscall::IoUringEnter(sqes) => {
                out.push_str("syscall io_uring_enter\n");
                for sqe in sqes {
                    sqe_text(&mut out, sqe);
                }
            }
            Syscall::Openat {
                path,
                creat,
                exists,
            } => {
                write!(out, "syscall openat {path}").ok();
                out.push_str(if *exists { " exists" } else { " missing" });
                if *creat {
                    out.push_str(" creat");
                }
                out.push('\n');
            }
        }
    }
    let names = input.program().thread_names();
    schedule_line(&mut out, schedule, &names);
    out
}

/// An operation-level input as text; `era` adds a `kernel` line.
pub fn ops_to_text(input: &OpsInput, era: Option<Era>) -> String {
    let OpsInput {
        audit,
        threads,
        ops,
        schedule,
    } = input;
    let mut out = header("ops", era, *audit);
    writeln!(out, "threads {threads}").ok();
    for (t, op) in ops {
        write!(out, "op T{t} ").ok();
        match *op {
            OpStep::Getname { uptr, token } => write!(out, "getname {uptr} n{token}"),
            OpStep::GetnameKernel { path, token } => write!(out, "getname_kernel {path} n{token}"),
            OpStep::AuditGetname { token } => write!(out, "audit_getname n{token}"),
            OpStep::AuditInode { token, parent } => {
                write!(
                    out,
                    "audit_inode n{token} {}",
                    if parent { "parent" } else { "file" }
                )
            }
            OpStep::AuditInodeChild { token, create } => write!(
                out,
                "audit_inode_child n{token} {}",
                if create { "create" } else { "delete" }
            ),
            OpStep::Putname { token } => write!(out, "putname n{token}"),
            OpStep::Send { token, to } => write!(out, "send n{token} T{to}"),
            OpStep::Receive { token } => write!(out, "receive n{token}"),
            OpStep::SyscallEntry => write!(out, "syscall_entry"),
            OpStep::SyscallExit => write!(out, "syscall_exit"),
            OpStep::UringEntry => write!(out, "uring_entry"),
            OpStep::UringExit => write!(out, "uring_exit"),
        }
        .ok();
        out.push('\n');
    }
    let names = input.program().thread_names();
    schedule_line(&mut out, schedule, &names);
    out
}

impl fmt::Debug for ScenarioInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&scenario_to_text(self, None))
    }
}

impl fmt::Debug for OpsInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&ops_to_text(self, None))
    }
}
