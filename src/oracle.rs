//! The oracle: ghost state beside the kernel state, and the violations it
//! reports.
//!
//! Every reference to a `struct filename` has an owner ([`Holder`]): the
//! request that prepped it, each `audit_names` entry that holds it, a
//! thread's local variable. The model's functions say which holder each
//! `refcnt` change is for; the oracle keeps the list and compares it with
//! what the kernel state says. It also remembers, per filename, a version
//! that every store bumps, so that a store computed from a stale load is
//! seen as the lost update it is.

use crate::kernel::state::{EntryChange, EntryId, FileId, KernelState, ReqId, Tid};
use std::fmt;

/// The kinds of violation the oracle reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `putname` saw `refcnt <= 0` (BUG in 5.16) or `== 0` (WARN in 6.6),
    /// or an atomic decrement went below zero.
    Underflow,
    /// An access to a freed `struct filename`.
    UseAfterFree,
    /// A `struct filename` freed twice.
    DoubleFree,
    /// The run ended with a filename not freed.
    Leak,
    /// A `refcnt` store overwrote another thread's update (the root cause
    /// of the others).
    LostUpdate,
    /// An access through `filename->aname` to an `audit_names` entry that
    /// was reset, reused or freed since the pointer was stored.
    StaleAuditEntry,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 6] = [
        Kind::Underflow,
        Kind::UseAfterFree,
        Kind::DoubleFree,
        Kind::Leak,
        Kind::LostUpdate,
        Kind::StaleAuditEntry,
    ];

    /// The name used in messages, the text format and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Underflow => "Underflow",
            Kind::UseAfterFree => "UseAfterFree",
            Kind::DoubleFree => "DoubleFree",
            Kind::Leak => "Leak",
            Kind::LostUpdate => "LostUpdate",
            Kind::StaleAuditEntry => "StaleAuditEntry",
        }
    }

    /// Parse [`Kind::as_str`].
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of kinds: which violations count as a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct KindSet(u8);

impl KindSet {
    /// No kind.
    pub const NONE: KindSet = KindSet(0);
    /// Every kind.
    pub const ALL: KindSet = KindSet(0b11_1111);
    /// The refcount kinds: all but [`Kind::StaleAuditEntry`].
    pub const REFCOUNT: KindSet = KindSet(0b01_1111);
    /// Only [`Kind::StaleAuditEntry`].
    pub const STALE: KindSet = KindSet(0b10_0000);

    /// The set with `k` added.
    pub const fn with(self, k: Kind) -> KindSet {
        KindSet(self.0 | (1 << (k as u8)))
    }

    /// The raw bits (bit `k` for kind `k`).
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// The set with these raw bits (unknown bits dropped).
    pub const fn from_bits(bits: u8) -> KindSet {
        KindSet(bits & KindSet::ALL.0)
    }

    /// Whether `k` is in the set.
    pub fn contains(self, k: Kind) -> bool {
        self.0 & k.bit() != 0
    }
}

/// Who did something, and where: the step and the innermost model function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Site {
    /// The thread.
    pub thread: Tid,
    /// The model function (kernel name).
    pub function: &'static str,
    /// The step index.
    pub step: u32,
}

/// A reference's owner (ghost state).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Holder {
    /// The request's own pointer (`open.filename`, `ren.oldpath`, …);
    /// the second field is the name's slot in the request.
    Request(ReqId, u8),
    /// An `audit_names` entry's `name`.
    Entry(EntryId),
    /// A local variable of the thread's current call, or an operation-level
    /// token the thread owns.
    Local(Tid, u16),
}

/// The object a violation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object {
    /// A `struct filename`.
    Filename(FileId),
    /// A `struct audit_names`.
    Entry(EntryId),
}

/// One violation, with everything a report needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// What went wrong.
    pub kind: Kind,
    /// Where: thread, model function, step index.
    pub site: Site,
    /// The object.
    pub object: Object,
    /// The access that showed it (`load`, `store`, `free`, `entry read`…).
    pub access: &'static str,
    /// The refcount value involved: seen by the check (Underflow), stored
    /// (LostUpdate), left (Leak), or the last value (UseAfterFree).
    pub value: i32,
    /// The other party: whose update was overwritten (LostUpdate), who
    /// freed (UseAfterFree, DoubleFree), who changed the entry
    /// (StaleAuditEntry), who allocated the name (Leak).
    pub other: Option<Site>,
    /// For StaleAuditEntry: what happened to the entry.
    pub change: Option<EntryChange>,
    /// For Leak: how many ghost holders were left.
    pub holders_left: u8,
}

const HOLDERS: usize = 12;

#[derive(Clone, Debug)]
struct NameGhost {
    version: u32,
    last_write: Option<Site>,
    alloc: Site,
    freed_by: Option<Site>,
    holders: [Option<Holder>; HOLDERS],
    extra_holders: u8,
}

impl NameGhost {
    fn holder_count(&self) -> usize {
        self.holders.iter().filter(|h| h.is_some()).count() + self.extra_holders as usize
    }
}

/// Most violations kept per run; the first ones are the informative ones.
pub const MAX_VIOLATIONS: usize = 32;

/// Ghost state and the violations found so far.
#[derive(Clone, Debug, Default)]
pub struct Oracle {
    names: Vec<NameGhost>,
    entry_changed_by: Vec<Option<Site>>,
    loads: Vec<Option<(FileId, u32)>>,
    violations: Vec<Violation>,
}

impl Oracle {
    /// Fresh ghost state for a run with `threads` threads.
    pub fn reset(&mut self, threads: usize) {
        self.names.clear();
        self.names.reserve(64);
        self.entry_changed_by.clear();
        self.loads.clear();
        self.loads.resize(threads, None);
        self.violations.clear();
    }

    /// The violations found, in the order they happened.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Move the violations out.
    pub fn take_violations(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }

    fn report(&mut self, v: Violation) {
        // One report per kind, object and thread: a freed name touched by
        // load, check and store is one use-after-free, not three.
        if self
            .violations
            .iter()
            .any(|o| o.kind == v.kind && o.object == v.object && o.site.thread == v.site.thread)
        {
            return;
        }
        if self.violations.len() < MAX_VIOLATIONS {
            self.violations.push(v);
        }
    }

    fn ghost(&mut self, f: FileId) -> &mut NameGhost {
        &mut self.names[f.0 as usize]
    }

    /// A filename was allocated with its first reference for `holder`.
    pub fn on_alloc(&mut self, f: FileId, site: Site, holder: Holder) {
        debug_assert_eq!(f.0 as usize, self.names.len());
        let mut holders = [None; HOLDERS];
        holders[0] = Some(holder);
        self.names.push(NameGhost {
            version: 0,
            last_write: Some(site),
            alloc: site,
            freed_by: None,
            holders,
            extra_holders: 0,
        });
    }

    /// An entry was allocated (kzalloc) or already exists: make room.
    pub fn on_entries(&mut self, count: usize) {
        if self.entry_changed_by.len() < count {
            self.entry_changed_by.resize(count, None);
        }
    }

    /// `holder` now owns a reference on `f`.
    pub fn take(&mut self, f: FileId, holder: Holder) {
        let g = self.ghost(f);
        match g.holders.iter_mut().find(|h| h.is_none()) {
            Some(slot) => *slot = Some(holder),
            None => g.extra_holders = g.extra_holders.saturating_add(1),
        }
    }

    /// `holder` gave up its reference on `f`.
    pub fn release(&mut self, f: FileId, holder: Holder) {
        let g = self.ghost(f);
        if let Some(slot) = g.holders.iter_mut().find(|h| **h == Some(holder)) {
            *slot = None;
        } else if g.extra_holders > 0 {
            g.extra_holders -= 1;
        }
    }

    fn check_live(&mut self, f: FileId, site: Site, access: &'static str, value: i32) -> bool {
        let g = self.ghost(f);
        if let Some(freer) = g.freed_by {
            self.report(Violation {
                kind: Kind::UseAfterFree,
                site,
                object: Object::Filename(f),
                access,
                value,
                other: Some(freer),
                change: None,
                holders_left: 0,
            });
            return false;
        }
        true
    }

    /// A plain load of `refcnt`: remember the version for the store.
    pub fn on_load(&mut self, f: FileId, site: Site, value: i32) {
        self.check_live(f, site, "load refcnt", value);
        let version = self.ghost(f).version;
        self.loads[site.thread.ix()] = Some((f, version));
    }

    /// A read of a field other than `refcnt` (`aname`, the string).
    pub fn on_read(&mut self, f: FileId, site: Site, access: &'static str, value: i32) {
        self.check_live(f, site, access, value);
    }

    /// A write of a field other than `refcnt` (`aname`).
    pub fn on_write(&mut self, f: FileId, site: Site, access: &'static str, value: i32) {
        self.check_live(f, site, access, value);
    }

    /// A plain store of `value` to `refcnt`, computed from this thread's
    /// last load.
    pub fn on_store(&mut self, f: FileId, site: Site, value: i32) {
        self.check_live(f, site, "store refcnt", value);
        let loaded = self.loads[site.thread.ix()].take();
        let g = self.ghost(f);
        let lost = match loaded {
            Some((lf, version)) if lf == f && version != g.version => g.last_write,
            _ => None,
        };
        g.version += 1;
        g.last_write = Some(site);
        if let Some(other) = lost {
            self.report(Violation {
                kind: Kind::LostUpdate,
                site,
                object: Object::Filename(f),
                access: "store refcnt",
                value,
                other: Some(other),
                change: None,
                holders_left: 0,
            });
        }
    }

    /// An atomic read-modify-write leaving `value`.
    pub fn on_rmw(&mut self, f: FileId, site: Site, value: i32) {
        self.check_live(f, site, "atomic rmw refcnt", value);
        let g = self.ghost(f);
        g.version += 1;
        g.last_write = Some(site);
    }

    /// `putname`'s check saw `value` (<= 0 in 5.16, 0 in 6.6), or an atomic
    /// decrement produced a negative count.
    pub fn on_underflow(&mut self, f: FileId, site: Site, access: &'static str, value: i32) {
        let other = self.ghost(f).last_write;
        self.report(Violation {
            kind: Kind::Underflow,
            site,
            object: Object::Filename(f),
            access,
            value,
            other,
            change: None,
            holders_left: 0,
        });
    }

    /// The filename is freed.
    pub fn on_free(&mut self, f: FileId, site: Site) {
        let g = self.ghost(f);
        if let Some(first) = g.freed_by {
            self.report(Violation {
                kind: Kind::DoubleFree,
                site,
                object: Object::Filename(f),
                access: "free",
                value: 0,
                other: Some(first),
                change: None,
                holders_left: 0,
            });
            return;
        }
        g.freed_by = Some(site);
    }

    /// An entry was reset, reused or freed by `site`.
    pub fn on_entry_change(&mut self, e: EntryId, site: Site) {
        self.on_entries(e.0 as usize + 1);
        self.entry_changed_by[e.0 as usize] = Some(site);
    }

    /// An access through `aname` found the entry changed since the pointer
    /// was stored.
    pub fn on_stale_entry(
        &mut self,
        e: EntryId,
        site: Site,
        access: &'static str,
        change: Option<EntryChange>,
    ) {
        let other = self.entry_changed_by.get(e.0 as usize).copied().flatten();
        self.report(Violation {
            kind: Kind::StaleAuditEntry,
            site,
            object: Object::Entry(e),
            access,
            value: 0,
            other,
            change,
            holders_left: 0,
        });
    }

    /// End of run: every filename not freed is a leak. `end` is the step
    /// count, the site of the leak report.
    pub fn finish(&mut self, k: &KernelState, end: u32) {
        for (i, name) in k.filenames.iter().enumerate() {
            if name.freed {
                continue;
            }
            let g = &self.names[i];
            let v = Violation {
                kind: Kind::Leak,
                site: Site {
                    thread: g.alloc.thread,
                    function: "(end of run)",
                    step: end,
                },
                object: Object::Filename(FileId(i as u16)),
                access: "not freed",
                value: name.refcnt,
                other: Some(g.alloc),
                change: None,
                holders_left: g.holder_count().min(u8::MAX as usize) as u8,
            };
            self.report(v);
        }
    }

    /// The ghost holders of `f`, for traces.
    pub fn holders(&self, f: FileId) -> impl Iterator<Item = Holder> + '_ {
        self.names[f.0 as usize].holders.iter().flatten().copied()
    }

    /// Number of ghost holders of `f`.
    pub fn holder_count(&self, f: FileId) -> usize {
        self.names[f.0 as usize].holder_count()
    }
}
