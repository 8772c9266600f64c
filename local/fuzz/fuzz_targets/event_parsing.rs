//! libFuzzer target: event parsing (`autopilot_fuzz::event`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| autopilot_fuzz::event(data));
