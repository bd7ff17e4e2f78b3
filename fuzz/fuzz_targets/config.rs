#![no_main]
//! Fuzz target `config`: see `cairn::fuzz::config`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz::config(data));
