#![no_main]
//! `scenario_v6_6`: see `filename_refcount::harness` for what it checks.
use filename_refcount::harness::{fuzz_scenario, Target};
use filename_refcount::input::ScenarioInput;

libfuzzer_sys::fuzz_target!(|input: ScenarioInput| fuzz_scenario(Target::ScenarioV6_6, &input));
