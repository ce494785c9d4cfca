#![no_main]
//! An empty target, built like the others: the benchmark's baseline for
//! libFuzzer's own cost per execution.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    std::hint::black_box(data);
});
