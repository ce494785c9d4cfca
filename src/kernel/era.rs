//! Kernel eras: what changes between the kernels this model covers.
//!
//! Every era-dependent decision in the model asks an [`Era`] method rather
//! than matching on the variant, so that a new era (v7.0's
//! `delayed_filename`, `int` refcount again) is one new variant and one new
//! answer per method, not a rewrite of the model functions.

use std::fmt;
use std::str::FromStr;

/// A kernel era, named by the first release that has its behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Era {
    /// Linux 5.16 to 6.5: io_uring has audit support (commit 5bd2182d58e9)
    /// and `struct filename.refcnt` is a plain `int`.
    V5_16,
    /// Linux 6.6 to 6.19: commit 03adc61edad4 made `refcnt` an `atomic_t`
    /// (backported to 6.5.9 and 6.1.60).
    V6_6,
    /// Linux 7.0: Al Viro's "io_uring, struct filename and audit" series.
    /// io_uring prep imports names without audit (`delayed_getname`), the
    /// issuing thread registers them (`complete_getname`), -EAGAIN hands a
    /// shared name back as a fresh copy (`putname_to_delayed`),
    /// `audit_reusename` and `uptr` are gone, and `refcnt` is a plain `int`
    /// again ("struct filename ->refcnt doesn't need to be atomic").
    V7_0,
}

/// What `putname` does with the count (fs/namei.c), by era.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutnameKind {
    /// `BUG_ON(name->refcnt <= 0); if (--name->refcnt > 0) return;` then
    /// free: a load (with the BUG check), a store, the free.
    BugOnDecrement,
    /// `if (WARN_ON_ONCE(!atomic_read(&name->refcnt))) return;
    /// if (!atomic_dec_and_test(&name->refcnt)) return;` then free.
    AtomicWarn,
    /// `refcnt = name->refcnt; if (refcnt != 1) { if (WARN_ON_ONCE(!refcnt))
    /// return; name->refcnt--; return; }` then free: the last reference is
    /// freed without a store.
    FreeAtOne,
}

/// How `struct filename.refcnt` is accessed in an era.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefcntKind {
    /// `int refcnt`: `++` and `--` compile to a load and a separate store.
    Plain,
    /// `atomic_t refcnt`: `atomic_inc` / `atomic_dec_and_test` are one
    /// indivisible read-modify-write.
    Atomic,
}

impl Era {
    /// Every era the model implements, oldest first.
    pub const ALL: [Era; 3] = [Era::V5_16, Era::V6_6, Era::V7_0];

    /// The eras in which io_uring prep registers names with the submitter's
    /// audit context: the protocol of shared/kernel-model.md's paths (a)-(f).
    pub const SUBMITTER_AUDIT: [Era; 2] = [Era::V5_16, Era::V6_6];

    /// The representation of `filename.refcnt`.
    pub fn refcnt(self) -> RefcntKind {
        match self {
            Era::V5_16 | Era::V7_0 => RefcntKind::Plain,
            Era::V6_6 => RefcntKind::Atomic,
        }
    }

    /// Whether io_uring's STATX prep imports the path with `getname_flags`
    /// (so the name is shared with the worker). Linux 5.16 passed the user
    /// pointer to `do_statx` at issue time instead ("io-uring: Make statx
    /// API stable", 5.19, moved it to prep).
    pub fn statx_getname_in_prep(self) -> bool {
        match self {
            Era::V5_16 => false,
            Era::V6_6 | Era::V7_0 => true,
        }
    }

    /// Whether prep sets `REQ_F_FORCE_ASYNC` for O_CREAT / O_TRUNC /
    /// O_TMPFILE opens and for the fs.c ops (6.x: `io_openat_force_async`),
    /// rather than letting a nonblocking attempt return -EAGAIN (5.16).
    /// Either way the request is punted; only the submitter's steps differ.
    pub fn forces_async_in_prep(self) -> bool {
        match self {
            Era::V5_16 => false,
            Era::V6_6 | Era::V7_0 => true,
        }
    }

    /// Whether io_uring prep imports names as a `struct delayed_filename`
    /// (no audit registration) that the issuing thread completes (7.0).
    pub fn delayed_filename(self) -> bool {
        matches!(self, Era::V7_0)
    }

    /// Whether `getname_flags` first tries `audit_reusename` (and a
    /// filename records its `uptr`); 7.0 removed both.
    pub fn audit_reusename(self) -> bool {
        !matches!(self, Era::V7_0)
    }

    /// How `putname` checks and drops the count.
    pub fn putname_kind(self) -> PutnameKind {
        match self {
            Era::V5_16 => PutnameKind::BugOnDecrement,
            Era::V6_6 => PutnameKind::AtomicWarn,
            Era::V7_0 => PutnameKind::FreeAtOne,
        }
    }

    /// The kernel's message when `putname` sees a count that is already
    /// zero or negative.
    pub fn putname_check(self) -> &'static str {
        match self {
            Era::V5_16 => "kernel BUG at fs/namei.c:262 (BUG_ON(name->refcnt <= 0))",
            Era::V6_6 => {
                "WARNING at fs/namei.c putname (WARN_ON_ONCE(!atomic_read(&name->refcnt)))"
            }
            Era::V7_0 => "WARNING at fs/namei.c putname (WARN_ON_ONCE(!refcnt))",
        }
    }

    /// The spelling used on command lines and in the text format.
    pub fn as_str(self) -> &'static str {
        match self {
            Era::V5_16 => "v5.16",
            Era::V6_6 => "v6.6",
            Era::V7_0 => "v7.0",
        }
    }
}

impl fmt::Display for Era {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an era name that is not one of [`Era::ALL`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownEra(pub String);

impl fmt::Display for UnknownEra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown kernel era `{}` (expected v5.16, v6.6 or v7.0)",
            self.0
        )
    }
}

impl std::error::Error for UnknownEra {}

impl FromStr for Era {
    type Err = UnknownEra;
    fn from_str(s: &str) -> Result<Era, UnknownEra> {
        match s {
            "v5.16" | "5.16" | "v5_16" => Ok(Era::V5_16),
            "v6.6" | "6.6" | "v6_6" => Ok(Era::V6_6),
            "v7.0" | "7.0" | "v7_0" => Ok(Era::V7_0),
            _ => Err(UnknownEra(s.to_string())),
        }
    }
}
