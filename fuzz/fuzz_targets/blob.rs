#![no_main]
//! Fuzz target `blob`: see `cairn::fuzz::blob`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz::blob(data));
