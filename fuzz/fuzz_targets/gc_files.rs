#![no_main]
//! Fuzz target `gc_files`: see `cairn::fuzz::gc_files`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz::gc_files(data));
