//! What a MongoDB snapshot holds: `mongodb/index.json`, written after every
//! collection's streams, with the server, the consistency point and each
//! collection's counts and hashes. A restore, a verification and `cairn
//! dump` start from it.

use cairn::{Error, Result};
use serde::{Deserialize, Serialize};

/// The index's stream name.
pub const INDEX_STREAM: &str = "mongodb/index.json";
/// The index's format version.
pub const FORMAT: u32 = 1;

/// One stored collection (or view).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// Database.
    pub db: String,
    /// Collection.
    pub collection: String,
    /// `collection`, `view`, `timeseries` or `oplog`.
    pub kind: String,
    /// Documents.
    pub docs: u64,
    /// Bytes of its documents.
    pub bytes: u64,
    /// CRC-64-ECMA of its documents, as a mongodump archive's EOF has it.
    pub crc64: u64,
    /// BLAKE3 of its documents in stored order, hex.
    pub blake3: String,
    /// An order-free hash of its documents: the sum (mod 2^128) of the
    /// first 16 bytes of each document's BLAKE3, hex. A drill compares
    /// what a server holds after a restore against it.
    pub set_hash: String,
}

impl Stored {
    /// `db.collection`.
    pub fn ns(&self) -> String {
        format!("{}.{}", self.db, self.collection)
    }
}

/// The whole index.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// [`FORMAT`].
    pub format: u32,
    /// `server` (read through the driver) or `archive` (a mongodump
    /// archive backed up as it was).
    pub source: String,
    /// The server's version (buildInfo, or the archive's header).
    pub server_version: String,
    /// The replica set, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_set: Option<String>,
    /// `snapshot`, `none` or `archive`.
    pub consistency: String,
    /// The snapshot's cluster time, `seconds.increment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_cluster_time: Option<String>,
    /// The collections, in stored order.
    pub collections: Vec<Stored>,
}

impl Index {
    /// The JSON text.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Reads the JSON text.
    pub fn parse(bytes: &[u8]) -> Result<Index> {
        let ix: Index = serde_json::from_slice(bytes)
            .map_err(|e| Error::corrupt(INDEX_STREAM, e.to_string()))?;
        if ix.format != FORMAT {
            return Err(Error::invalid(format!(
                "{INDEX_STREAM} has format {}; this cairn reads format {FORMAT}: upgrade cairn",
                ix.format
            )));
        }
        Ok(ix)
    }

    /// Documents in every collection.
    pub fn docs(&self) -> u64 {
        self.collections.iter().map(|c| c.docs).sum()
    }
}

fn escape(part: &str) -> String {
    if part.is_empty() || part == "." || part == ".." {
        return part
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect::<String>()
            + "%";
    }
    let mut out = String::new();
    for c in part.chars() {
        match c {
            '/' | '%' | '\\' => out.push_str(&format!("%{:02X}", c as u32)),
            c if c.is_control() => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The stream of a collection's documents.
pub fn data_path(db: &str, coll: &str) -> String {
    format!("mongodb/{}/{}.bson", escape(db), escape(coll))
}

/// The stream of a collection's metadata.
pub fn meta_path(db: &str, coll: &str) -> String {
    format!("mongodb/{}/{}.metadata.json", escape(db), escape(coll))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_escape_what_would_change_the_tree() {
        assert_eq!(data_path("app", "users"), "mongodb/app/users.bson");
        assert_eq!(data_path("app", "a/b%c"), "mongodb/app/a%2Fb%25c.bson");
        assert_eq!(meta_path("", "oplog"), "mongodb/%/oplog.metadata.json");
        assert_ne!(data_path("app", ".."), data_path("app", "%2E%2E"));
    }

    #[test]
    fn the_index_round_trips_and_refuses_a_newer_format() {
        let ix = Index {
            format: FORMAT,
            source: "server".into(),
            consistency: "snapshot".into(),
            collections: vec![Stored {
                db: "a".into(),
                collection: "b".into(),
                docs: 3,
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(Index::parse(&ix.to_bytes()).expect("parse"), ix);
        let newer = String::from_utf8(ix.to_bytes())
            .expect("utf8")
            .replace("\"format\": 1", "\"format\": 9");
        let e = Index::parse(newer.as_bytes()).expect_err("newer");
        assert!(e.to_string().contains("upgrade cairn"), "{e}");
        assert!(Index::parse(b"{").is_err());
    }
}
