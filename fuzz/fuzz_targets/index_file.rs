#![no_main]
//! Fuzz target `index_file`: see `cairn::fuzz::index_file`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz::index_file(data));
