//! Counts and hashes of a collection's documents as they stream past.

use crate::crc64::Crc64;
use crate::index::Stored;

/// Running totals of one collection's documents.
#[derive(Clone)]
pub struct Counter {
    docs: u64,
    bytes: u64,
    crc: Crc64,
    hash: blake3::Hasher,
    set: u128,
}

impl Default for Counter {
    fn default() -> Self {
        Counter {
            docs: 0,
            bytes: 0,
            crc: Crc64::new(),
            hash: blake3::Hasher::new(),
            set: 0,
        }
    }
}

/// One document's part of a set hash.
pub fn set_part(doc: &[u8]) -> u128 {
    let h = blake3::hash(doc);
    let mut b = [0u8; 16];
    b.copy_from_slice(&h.as_bytes()[..16]);
    u128::from_le_bytes(b)
}

/// A set hash as hex.
pub fn set_hex(set: u128) -> String {
    format!("{set:032x}")
}

impl Counter {
    /// Adds one document.
    pub fn add(&mut self, doc: &[u8]) {
        self.docs += 1;
        self.bytes += doc.len() as u64;
        self.crc.update(doc);
        self.hash.update(doc);
        self.set = self.set.wrapping_add(set_part(doc));
    }

    /// Documents so far.
    pub fn docs(&self) -> u64 {
        self.docs
    }

    /// The totals, as the index records them.
    pub fn stored(&self, db: &str, collection: &str, kind: &str) -> Stored {
        Stored {
            db: db.into(),
            collection: collection.into(),
            kind: kind.into(),
            docs: self.docs,
            bytes: self.bytes,
            crc64: self.crc.sum(),
            blake3: self.hash.finalize().to_hex().to_string(),
            set_hash: set_hex(self.set),
        }
    }

    /// What differs between these totals and `want`, if anything.
    pub fn differs(&self, want: &Stored) -> Option<String> {
        let got = self.stored(&want.db, &want.collection, &want.kind);
        match () {
            _ if got.docs != want.docs => Some(format!(
                "{} documents, the index says {}",
                got.docs, want.docs
            )),
            _ if got.bytes != want.bytes => Some(format!(
                "{} bytes of documents, the index says {}",
                got.bytes, want.bytes
            )),
            _ if got.crc64 != want.crc64 || got.blake3 != want.blake3 => {
                Some("its documents do not hash to the index's hashes".into())
            }
            _ => None,
        }
    }
}
