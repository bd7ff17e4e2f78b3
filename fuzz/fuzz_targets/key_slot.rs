#![no_main]
//! Fuzz target `key_slot`: see `cairn::fuzz::key_slot`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz::key_slot(data));
