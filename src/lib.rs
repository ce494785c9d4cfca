//! An executable model of `struct filename` / `audit_names` reference
//! counting in Linux, for fuzzing the io_uring / audit refcount race that
//! Linux 5.16 introduced and 6.6 fixed (`kernel BUG at fs/namei.c:262`).
//!
//! The flow, one module per stage:
//!
//! bytes → `decode` → [`program`] ([`scenario`] compiled, or [`ops`]
//! built directly, plus a [`program::Schedule`]) → [`executor`] (runs the
//! [`kernel`] model) → [`oracle`] (ghost ownership, violations) →
//! [`report`] (kernel-style explanations).
//!
//! The [`kernel`] module models the kernel functions themselves and knows
//! nothing of fuzzing; each of its functions names the kernel file and
//! function it follows.
#![deny(missing_docs)]

pub mod decode;
pub mod executor;
pub mod explore;
pub mod harness;
pub mod input;
pub mod kernel;
pub mod ops;
pub mod oracle;
pub mod program;
pub mod report;
pub mod scenario;
pub mod text;
pub mod trace;

pub use executor::{run, Outcome, RunOptions};
pub use kernel::Era;
pub use oracle::{Kind, KindSet, Violation};
pub use program::{Program, Schedule, Slice};
pub use scenario::Scenario;
