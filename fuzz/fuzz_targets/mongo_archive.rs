#![no_main]
//! Fuzz target `mongo_archive`: the mongodump archive reader never panics
//! and either reads the input whole or returns an error.

struct Discard;

impl cairn_mongodb::archive::Sink for Discard {
    fn prelude(&mut self, _: &cairn_mongodb::archive::Prelude) -> cairn::Result<()> {
        Ok(())
    }
    fn doc(&mut self, _: &str, _: &[u8]) -> cairn::Result<()> {
        Ok(())
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = cairn_mongodb::archive::read(data, "fuzz input", &mut Discard);
});
