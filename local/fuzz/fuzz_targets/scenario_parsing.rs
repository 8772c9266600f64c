//! libFuzzer target: scenario parsing (`autopilot_fuzz::scenario`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| autopilot_fuzz::scenario(data));
