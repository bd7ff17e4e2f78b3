#![no_main]
//! Fuzz target `snapshot`: see `cairn::fuzz::snapshot`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz::snapshot(data));
