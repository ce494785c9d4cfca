//! The user task: system calls between `__audit_syscall_entry` and
//! `__audit_syscall_exit` (kernel/entry/common.c `syscall_trace_enter` /
//! `syscall_exit_work`).

use super::auditsc::{audit_syscall_entry, audit_syscall_exit};
use super::io_uring::io_submit_sqe;
use super::machine::Machine;
use super::namei::{do_filp_open, getname_flags, putname, OpenHow};
use super::state::{Sqe, Tid, Uptr};
use crate::oracle::Holder;

/// A system call the user task makes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Syscall {
    /// openat(2) on the task itself (path (d)); also the "later syscall"
    /// that reuses the task's audit slots.
    Openat {
        /// The path pointer.
        path: Uptr,
        /// O_CREAT.
        creat: bool,
        /// The file exists.
        exists: bool,
    },
    /// io_uring_enter(2) submitting these SQEs (or, on an SQPOLL ring,
    /// posting them for the SQPOLL thread).
    IoUringEnter(Vec<Sqe>),
}

/// fs/open.c `do_sys_openat2`: `getname`, `do_filp_open`, `putname`.
pub async fn do_sys_openat2(
    m: &Machine,
    t: Tid,
    path: Uptr,
    creat: bool,
    exists: bool,
    token: u16,
) {
    let _f = m.enter(t, "do_sys_openat2");
    let local = Holder::Local(t, token);
    let f = getname_flags(m, t, path, local).await;
    let how = OpenHow {
        creat,
        exists,
        cached_miss: false,
    };
    do_filp_open(m, t, f, how).await;
    putname(m, t, f, local).await;
}

/// One system call with its audit entry and exit.
pub async fn syscall(m: &Machine, t: Tid, sc: &Syscall, sqpoll: bool, index: u16) {
    let _f = m.enter(t, "do_syscall_64");
    audit_syscall_entry(m, t);
    match sc {
        Syscall::Openat {
            path,
            creat,
            exists,
        } => {
            let _g = m.enter(t, "__x64_sys_openat");
            do_sys_openat2(m, t, *path, *creat, *exists, index).await;
        }
        Syscall::IoUringEnter(sqes) => {
            let _g = m.enter(t, "__x64_sys_io_uring_enter");
            if sqpoll {
                // IORING_ENTER_SQ_WAKEUP: the SQPOLL thread submits.
                m.sq_post(t, sqes).await;
            } else {
                let _h = m.enter(t, "io_submit_sqes");
                for sqe in sqes {
                    io_submit_sqe(m, t, *sqe).await;
                }
            }
        }
    }
    let _x = m.enter(t, "syscall_exit_work");
    audit_syscall_exit(m, t).await;
}

/// The user task's program: its system calls in order.
pub async fn user_task(m: &Machine, t: Tid, syscalls: &[Syscall], sqpoll: bool) {
    for (i, sc) in syscalls.iter().enumerate() {
        syscall(m, t, sc, sqpoll, i as u16).await;
    }
}
