//! The text format people write reproducers in, and that crashes print as.
//!
//! ```text
//! # filename-refcount scenario
//! kernel v5.16
//! audit rules
//! sqpoll no
//! workers 1
//! syscall io_uring_enter
//!   sqe openat p0 exists creat async
//! syscall openat p1 exists
//! schedule S*7 W1*10 S W1*
//! ```
//!
//! See README.md for the whole grammar. [`print`] writes it; [`parse`]
//! reads it back, with line and column on every error.

pub mod parse;
pub mod print;

pub use parse::{parse, Parsed, TextError};
pub use print::{ops_to_text, scenario_to_text, schedule_to_text};
