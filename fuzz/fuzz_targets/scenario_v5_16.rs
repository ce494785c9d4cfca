#![no_main]
//! `scenario_v5_16`: see `filename_refcount::harness` for what it checks.
use filename_refcount::harness::{fuzz_scenario, Target};
use filename_refcount::input::ScenarioInput;

libfuzzer_sys::fuzz_target!(|input: ScenarioInput| fuzz_scenario(Target::ScenarioV5_16, &input));
