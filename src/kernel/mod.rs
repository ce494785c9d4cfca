//! The kernel model: `struct filename` and `audit_names` reference counting
//! across the submitting task, io-wq workers and the SQPOLL thread.
//!
//! It knows nothing about fuzzing or scheduling policy: its functions are
//! `async` so that every access to shared state is a point where the
//! executor may switch threads ([`machine`]), and each follows one kernel
//! function, named in its doc comment.

pub mod auditsc;
pub mod era;
pub mod io_uring;
pub mod machine;
pub mod namei;
pub mod state;
pub mod task;

pub use era::Era;
