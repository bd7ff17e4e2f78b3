#![no_main]
//! Fuzz target `model`: see `cairn::fuzz::model`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz::model(data));
