//! The kernel objects the protocol touches: `struct filename`,
//! `struct audit_names`, `struct audit_context`, io_uring requests, and the
//! queues that hand requests between threads.
//!
//! This is plain data. Which accesses to it are scheduling points is decided
//! by [`super::machine`]; the functions that change it are in
//! [`super::namei`], [`super::auditsc`] and [`super::io_uring`].

use std::collections::VecDeque;
use std::fmt;

/// `AUDIT_NAMES` (kernel/audit.h): preallocated `audit_names` per context.
pub const AUDIT_NAMES: usize = 5;
/// Most threads one run can have.
pub const MAX_THREADS: usize = 8;

/// A thread: an index into the program's thread list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Tid(pub u8);

impl Tid {
    /// The index as `usize`.
    pub fn ix(self) -> usize {
        self.0 as usize
    }
}

/// A `struct filename`, by allocation order within one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u16);

/// A `struct audit_names` (a preallocated slot or a heap entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId(pub u16);

/// An io_uring request (`struct io_kiocb`), by submission order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReqId(pub u16);

/// A user-space path pointer. Two SQEs with the same `Uptr` pass the same
/// `const char __user *`, which `audit_reusename` matches. The pointer also
/// names the string: paths `p0`, `p1`, … all live in one directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uptr(pub u8);

impl fmt::Display for Uptr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

/// Inode number of the one directory every path lives in.
pub const DIR_INO: u32 = 2;

/// Inode number of the file a path names, when it exists.
pub fn file_ino(path: Uptr) -> u32 {
    100 + path.0 as u32
}

/// `audit_names.type` (include/linux/audit.h `AUDIT_TYPE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NameType {
    /// AUDIT_TYPE_UNKNOWN: fresh from `__audit_getname`.
    Unknown,
    /// AUDIT_TYPE_NORMAL.
    Normal,
    /// AUDIT_TYPE_PARENT.
    Parent,
    /// AUDIT_TYPE_CHILD_DELETE.
    ChildDelete,
    /// AUDIT_TYPE_CHILD_CREATE.
    ChildCreate,
}

impl NameType {
    /// The kernel's constant name.
    pub fn as_str(self) -> &'static str {
        match self {
            NameType::Unknown => "UNKNOWN",
            NameType::Normal => "NORMAL",
            NameType::Parent => "PARENT",
            NameType::ChildDelete => "CHILD_DELETE",
            NameType::ChildCreate => "CHILD_CREATE",
        }
    }
}

/// Where `filename.aname` points: the entry, and the entry's generation when
/// `__audit_getname` stored the pointer (ghost state: the kernel keeps only
/// the pointer, which is why a reset or reuse goes unnoticed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnamePtr {
    /// The entry.
    pub entry: EntryId,
    /// `AuditName::gen` when the pointer was stored.
    pub gen: u32,
}

/// `struct filename` (include/linux/fs.h).
#[derive(Clone, Debug)]
pub struct Filename {
    /// `refcnt`: `int` before 6.6, `atomic_t` from 6.6.
    pub refcnt: i32,
    /// `uptr`: the user pointer it was copied from; `None` for
    /// `getname_kernel`.
    pub uptr: Option<Uptr>,
    /// The string (`name`), identified by the path it spells.
    pub path: Uptr,
    /// `aname`: the audit_names entry `__audit_getname` made.
    pub aname: Option<AnamePtr>,
    /// Freed by `__putname` / `kfree` (the memory is not reused in the
    /// model, so later reads see the last values).
    pub freed: bool,
}

/// Why an `audit_names` entry is no longer the one `aname` pointed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryChange {
    /// `audit_free_names` unlinked it (context reset); a preallocated slot
    /// still holds its old contents until reused.
    Reset,
    /// `audit_alloc_name` memset the preallocated slot for a new name.
    Reused,
    /// `audit_free_names` kfree'd it (`should_free`, the sixth and later
    /// names of a syscall).
    Freed,
}

/// `struct audit_names` (kernel/audit.h).
#[derive(Clone, Debug)]
pub struct AuditName {
    /// The thread whose context owns the entry.
    pub owner: Tid,
    /// Index in `preallocated_names`, or `None` for a kzalloc'd entry.
    pub slot: Option<u8>,
    /// `type`.
    pub ty: NameType,
    /// `name`: the filename this entry holds a reference on.
    pub name: Option<FileId>,
    /// `ino` (`None` is AUDIT_INO_UNSET).
    pub ino: Option<u32>,
    /// `should_free`.
    pub should_free: bool,
    /// Ghost: bumped on every reset, reuse and free.
    pub gen: u32,
    /// Ghost: the last change that bumped `gen`.
    pub last_change: Option<EntryChange>,
    /// Ghost: on the owner's `names_list`.
    pub linked: bool,
    /// kfree'd.
    pub freed: bool,
}

/// `audit_context.context` (kernel/audit.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtxState {
    /// AUDIT_CTX_UNUSED.
    Unused,
    /// AUDIT_CTX_SYSCALL.
    Syscall,
    /// AUDIT_CTX_URING.
    Uring,
}

/// `struct audit_context`, one per task.
#[derive(Clone, Debug)]
pub struct AuditContext {
    /// `dummy`: no audit rules, so nothing is recorded.
    pub dummy: bool,
    /// `context`.
    pub state: CtxState,
    /// `names_list`, oldest first.
    pub names: Vec<EntryId>,
    /// `preallocated_names[AUDIT_NAMES]`.
    pub prealloc: [EntryId; AUDIT_NAMES],
}

/// The audit configuration of the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum AuditConfig {
    /// Audit never enabled: tasks have no audit context at all.
    Off,
    /// Audit enabled but no rules loaded (`audit_n_rules == 0`): contexts
    /// are dummy, names are not recorded.
    Dummy,
    /// Audit enabled with rules: every name is recorded.
    #[default]
    Rules,
}

impl AuditConfig {
    /// The spelling used in the text format.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditConfig::Off => "off",
            AuditConfig::Dummy => "dummy",
            AuditConfig::Rules => "rules",
        }
    }
}

/// io_uring opcodes the model covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Opcode {
    /// IORING_OP_OPENAT.
    #[default]
    Openat,
    /// IORING_OP_OPENAT2.
    Openat2,
    /// IORING_OP_STATX (`audit_skip`).
    Statx,
    /// IORING_OP_RENAMEAT (two names).
    Renameat,
    /// IORING_OP_UNLINKAT.
    Unlinkat,
    /// IORING_OP_MKDIRAT.
    Mkdirat,
}

impl Opcode {
    /// Every opcode, in encoding order.
    pub const ALL: [Opcode; 6] = [
        Opcode::Openat,
        Opcode::Openat2,
        Opcode::Statx,
        Opcode::Renameat,
        Opcode::Unlinkat,
        Opcode::Mkdirat,
    ];

    /// `io_issue_defs[op].audit_skip` (io_uring/opdef.c).
    pub fn audit_skip(self) -> bool {
        matches!(self, Opcode::Statx)
    }

    /// The text-format and kernel spelling, lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Opcode::Openat => "openat",
            Opcode::Openat2 => "openat2",
            Opcode::Statx => "statx",
            Opcode::Renameat => "renameat",
            Opcode::Unlinkat => "unlinkat",
            Opcode::Mkdirat => "mkdirat",
        }
    }

    /// Whether the opcode is one of the opens.
    pub fn is_open(self) -> bool {
        matches!(self, Opcode::Openat | Opcode::Openat2)
    }
}

/// One submission queue entry, as far as the protocol cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Sqe {
    /// The opcode.
    pub op: Opcode,
    /// The path pointer (`sqe->addr`); for RENAMEAT the old path.
    pub path: Uptr,
    /// RENAMEAT's new path (`sqe->addr2`); ignored by other opcodes.
    pub path2: Uptr,
    /// O_CREAT (opens).
    pub creat: bool,
    /// O_TRUNC (opens).
    pub trunc: bool,
    /// Whether the path (for RENAMEAT: the old path; for MKDIRAT: the new
    /// directory) exists before the request runs.
    pub exists: bool,
    /// IOSQE_ASYNC: punt to io-wq without a nonblocking attempt.
    pub async_: bool,
    /// The nonblocking inline attempt fails with -EAGAIN (a LOOKUP_CACHED
    /// miss), so the request is punted after it.
    pub eagain: bool,
}

/// Where a request is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReqState {
    /// Prepped, not yet issued or queued.
    Prepped,
    /// On the io-wq work list.
    Queued,
    /// Taken by a worker.
    Running,
    /// Issued to completion.
    Done,
}

/// `struct io_kiocb` with the fields the protocol uses.
#[derive(Clone, Debug)]
pub struct Request {
    /// The SQE it came from.
    pub sqe: Sqe,
    /// The thread that prepped it (S, or Q under SQPOLL).
    pub submitter: Tid,
    /// `open.filename` / `ren.oldpath` / `un.filename` / `sx.filename`…
    pub names: [Option<FileId>; 2],
    /// Life cycle.
    pub state: ReqState,
}

/// All kernel state of one run.
#[derive(Clone, Debug, Default)]
pub struct KernelState {
    /// The audit configuration.
    pub audit: AuditConfig,
    /// Every filename ever allocated, by `FileId`.
    pub filenames: Vec<Filename>,
    /// Every audit_names entry, by `EntryId`.
    pub entries: Vec<AuditName>,
    /// One audit context per thread (`None` when audit is off).
    pub contexts: Vec<Option<AuditContext>>,
    /// Every request, by `ReqId`.
    pub requests: Vec<Request>,
    /// The io-wq work list.
    pub work: VecDeque<ReqId>,
    /// SQEs posted to the ring for the SQPOLL thread, oldest first.
    pub sq_ring: VecDeque<Sqe>,
}

impl KernelState {
    /// Fresh state for `threads` threads; each gets an audit context with
    /// its preallocated names unless audit is off.
    pub fn new(audit: AuditConfig, threads: usize) -> KernelState {
        let mut k = KernelState {
            audit,
            ..KernelState::default()
        };
        k.reset(audit, threads);
        k
    }

    /// Reset to fresh state, keeping allocations.
    pub fn reset(&mut self, audit: AuditConfig, threads: usize) {
        self.audit = audit;
        self.filenames.clear();
        self.entries.clear();
        self.contexts.clear();
        self.requests.clear();
        self.work.clear();
        self.sq_ring.clear();
        for t in 0..threads {
            if audit == AuditConfig::Off {
                self.contexts.push(None);
                continue;
            }
            let base = self.entries.len() as u16;
            for slot in 0..AUDIT_NAMES {
                self.entries.push(AuditName {
                    owner: Tid(t as u8),
                    slot: Some(slot as u8),
                    ty: NameType::Unknown,
                    name: None,
                    ino: None,
                    should_free: false,
                    gen: 0,
                    last_change: None,
                    linked: false,
                    freed: false,
                });
            }
            let prealloc = std::array::from_fn(|i| EntryId(base + i as u16));
            self.contexts.push(Some(AuditContext {
                dummy: false,
                state: CtxState::Unused,
                names: Vec::with_capacity(2 * AUDIT_NAMES),
                prealloc,
            }));
        }
    }

    /// The filename `f`.
    pub fn name(&self, f: FileId) -> &Filename {
        &self.filenames[f.0 as usize]
    }

    /// The filename `f`, mutably.
    pub fn name_mut(&mut self, f: FileId) -> &mut Filename {
        &mut self.filenames[f.0 as usize]
    }

    /// The entry `e`.
    pub fn entry(&self, e: EntryId) -> &AuditName {
        &self.entries[e.0 as usize]
    }

    /// The entry `e`, mutably.
    pub fn entry_mut(&mut self, e: EntryId) -> &mut AuditName {
        &mut self.entries[e.0 as usize]
    }

    /// Thread `t`'s audit context, if it has one.
    pub fn ctx(&self, t: Tid) -> Option<&AuditContext> {
        self.contexts[t.ix()].as_ref()
    }

    /// Thread `t`'s audit context, mutably.
    pub fn ctx_mut(&mut self, t: Tid) -> Option<&mut AuditContext> {
        self.contexts[t.ix()].as_mut()
    }

    /// `audit_dummy_context()` (include/linux/audit.h): no context, or a
    /// dummy one.
    pub fn audit_dummy_context(&self, t: Tid) -> bool {
        self.ctx(t).is_none_or(|c| c.dummy)
    }

    /// `audit_enabled`.
    pub fn audit_enabled(&self) -> bool {
        self.audit != AuditConfig::Off
    }

    /// `audit_n_rules != 0`.
    pub fn audit_rules(&self) -> bool {
        self.audit == AuditConfig::Rules
    }

    /// A display name for an entry: `S.names[2]` or `S.heap#7`.
    pub fn entry_label(&self, e: EntryId, thread_names: &[&str]) -> String {
        let n = self.entry(e);
        let owner = thread_names.get(n.owner.ix()).copied().unwrap_or("?");
        match n.slot {
            Some(s) => format!("{owner}.preallocated_names[{s}]"),
            None => format!("{owner}.kzalloc#{}", e.0),
        }
    }
}
