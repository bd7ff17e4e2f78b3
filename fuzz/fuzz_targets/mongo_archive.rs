#![no_main]
//! Fuzz target `mongo_archive`: the mongodump archive reader never panics
//! and either reads the input whole or returns an error.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut count = cairn_mongodb::archive::DocCount::default();
    let _ = cairn_mongodb::archive::read(data, "fuzz input", &mut count);
});
