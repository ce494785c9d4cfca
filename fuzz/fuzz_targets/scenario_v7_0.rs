#![no_main]
//! `scenario_v7_0`: see `filename_refcount::harness` for what it checks.
use filename_refcount::harness::{fuzz_scenario, Target};
use filename_refcount::input::ScenarioInput;

libfuzzer_sys::fuzz_target!(|input: ScenarioInput| fuzz_scenario(Target::ScenarioV7_0, &input));
