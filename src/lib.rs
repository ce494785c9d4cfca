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
//!
//! # Example
//!
//! The seed document's interleaving, written in the text format, fails the
//! 5.16 target with the kernel's BUG and passes the 6.6 one:
//!
//! ```
//! use filename_refcount::harness::{check, Input, Target};
//! use filename_refcount::text::{parse, Parsed};
//!
//! let text = "audit rules
//! syscall io_uring_enter
//!   sqe openat p0 exists creat async
//! schedule S*8 W1*10 S W1*
//! ";
//! let Ok(Parsed::Scenario(_, scenario)) = parse(text) else {
//!     panic!("a scenario-level text");
//! };
//! let input = Input::Scenario(scenario);
//! let failure = check(Target::ScenarioV5_16, &input).unwrap_err();
//! assert!(failure.report.contains("kernel BUG at fs/namei.c:262"));
//! assert!(check(Target::ScenarioV6_6, &input).is_ok());
//! ```
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
