//! Operation-level programs: per-thread sequences of model operations on
//! references ("tokens"), beyond the sharing patterns today's io_uring
//! paths produce.
//!
//! A token is one reference to a `struct filename`: created by a getname,
//! moved by a hand-off, consumed by `putname`. Programs built by
//! [`crate::decode`] obey ownership (a thread touches only tokens it holds)
//! and keep every receive after its send in one global order, so they
//! never deadlock.

use crate::kernel::auditsc::{
    audit_getname, audit_inode, audit_inode_child, audit_reset_context, audit_syscall_entry,
    audit_syscall_exit, audit_uring_entry, audit_uring_exit,
};
use crate::kernel::machine::Machine;
use crate::kernel::namei::{getname_flags, getname_kernel, putname};
use crate::kernel::state::{file_ino, NameType, Tid, Uptr, DIR_INO};
use crate::oracle::Holder;

/// A reference handle in an operation-level program.
pub type Token = u16;

/// One operation of an operation-level thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpStep {
    /// `getname_flags(uptr)` (with `audit_reusename`): a new token.
    Getname {
        /// The user pointer.
        uptr: Uptr,
        /// The token the reference becomes.
        token: Token,
    },
    /// `getname_kernel(path)`: a new token.
    GetnameKernel {
        /// The path string.
        path: Uptr,
        /// The token.
        token: Token,
    },
    /// `audit_getname(name)` again on a held name (re-registers it with the
    /// current context and repoints `aname`).
    AuditGetname {
        /// A held token.
        token: Token,
    },
    /// `audit_inode(name, …)`: a parent lookup or a lookup of the file.
    AuditInode {
        /// A held token.
        token: Token,
        /// AUDIT_INODE_PARENT.
        parent: bool,
    },
    /// `audit_inode_child(dir, dentry named like the token, type)`.
    AuditInodeChild {
        /// A held token (its path names the child).
        token: Token,
        /// CHILD_CREATE (true) or CHILD_DELETE.
        create: bool,
    },
    /// `putname(name)`: the token is consumed.
    Putname {
        /// A held token.
        token: Token,
    },
    /// Hand the token to thread `to`, which receives it.
    Send {
        /// A held token.
        token: Token,
        /// The receiving thread.
        to: u8,
    },
    /// Receive a token sent by another thread (blocks until sent).
    Receive {
        /// The token.
        token: Token,
    },
    /// `__audit_syscall_entry`.
    SyscallEntry,
    /// `__audit_syscall_exit`.
    SyscallExit,
    /// `audit_uring_entry`.
    UringEntry,
    /// `audit_uring_exit`.
    UringExit,
}

/// One operation-level thread.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct OpsThread {
    /// The operations, in order.
    pub ops: Vec<OpStep>,
}

/// Run one operation-level thread.
pub async fn ops_thread(m: &Machine, t: Tid, th: &OpsThread) {
    let _f = m.enter(t, "ops_thread");
    for op in &th.ops {
        run_op(m, t, *op).await;
    }
    // Whatever the context still holds is released as at task exit
    // (kernel/auditsc.c __audit_free → audit_reset_context).
    let _g = m.enter(t, "__audit_free");
    audit_reset_context(m, t).await;
}

fn token_name(m: &Machine, token: Token) -> Option<crate::kernel::state::FileId> {
    m.local(|w| w.tokens.get(token as usize).copied().flatten())
}

async fn run_op(m: &Machine, t: Tid, op: OpStep) {
    match op {
        OpStep::Getname { uptr, token } => {
            let f = getname_flags(m, t, uptr, Holder::Local(t, token)).await;
            m.local(|w| w.set_token(token, f));
        }
        OpStep::GetnameKernel { path, token } => {
            let f = getname_kernel(m, t, path, Holder::Local(t, token)).await;
            m.local(|w| w.set_token(token, f));
        }
        OpStep::AuditGetname { token } => {
            if let Some(f) = token_name(m, token) {
                audit_getname(m, t, f).await;
            }
        }
        OpStep::AuditInode { token, parent } => {
            if let Some(f) = token_name(m, token) {
                let ino = if parent {
                    DIR_INO
                } else {
                    file_ino(m.local(|w| w.k.name(f).path))
                };
                audit_inode(m, t, f, ino, parent).await;
            }
        }
        OpStep::AuditInodeChild { token, create } => {
            if let Some(f) = token_name(m, token) {
                let path = m.local(|w| w.k.name(f).path);
                let ty = if create {
                    NameType::ChildCreate
                } else {
                    NameType::ChildDelete
                };
                audit_inode_child(m, t, DIR_INO, path, ty).await;
            }
        }
        OpStep::Putname { token } => {
            if let Some(f) = token_name(m, token) {
                putname(m, t, f, Holder::Local(t, token)).await;
            }
        }
        OpStep::Send { token, to } => {
            let _f = m.enter(t, "hand_off");
            if let Some(f) = token_name(m, token) {
                m.transfer(f, Holder::Local(t, token), Holder::Local(Tid(to), token));
            }
            m.send(t, token, Tid(to)).await;
        }
        OpStep::Receive { token } => {
            let _f = m.enter(t, "take_over");
            m.receive(t, token).await;
        }
        OpStep::SyscallEntry => audit_syscall_entry(m, t),
        OpStep::SyscallExit => audit_syscall_exit(m, t).await,
        OpStep::UringEntry => audit_uring_entry(m, t),
        OpStep::UringExit => audit_uring_exit(m, t).await,
    }
}

/// The number of token slots the operation-level threads in `roles` use.
pub fn token_count(roles: &[crate::program::Role]) -> usize {
    let mut max = 0usize;
    for r in roles {
        if let crate::program::Role::Ops(th) = r {
            for op in &th.ops {
                let tok = match *op {
                    OpStep::Getname { token, .. }
                    | OpStep::GetnameKernel { token, .. }
                    | OpStep::AuditGetname { token }
                    | OpStep::AuditInode { token, .. }
                    | OpStep::AuditInodeChild { token, .. }
                    | OpStep::Putname { token }
                    | OpStep::Send { token, .. }
                    | OpStep::Receive { token } => token as usize + 1,
                    _ => 0,
                };
                max = max.max(tok);
            }
        }
    }
    max
}
