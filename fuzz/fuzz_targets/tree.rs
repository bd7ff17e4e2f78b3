#![no_main]
//! Fuzz target `tree`: see `cairn::fuzz::tree`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz::tree(data));
