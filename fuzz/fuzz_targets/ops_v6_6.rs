#![no_main]
//! `ops_v6_6`: see `filename_refcount::harness` for what it checks.
use filename_refcount::harness::{fuzz_ops, Target};
use filename_refcount::input::OpsInput;

libfuzzer_sys::fuzz_target!(|input: OpsInput| fuzz_ops(Target::OpsV6_6, &input));
