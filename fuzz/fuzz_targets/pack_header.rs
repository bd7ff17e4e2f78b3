#![no_main]
//! Fuzz target `pack_header`: see `cairn::fuzz::pack_header`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz::pack_header(data));
