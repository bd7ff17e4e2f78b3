//! A collection's metadata, as mongodump writes it into a
//! `.metadata.json` file and an archive's prelude: its options, its
//! indexes, its UUID, its name and its type, in canonical Extended JSON.

use bson::{doc, Bson, Document};
use cairn::{Error, Result};

/// One collection (or view) and how to create it again.
#[derive(Clone, Debug, PartialEq)]
pub struct Meta {
    /// Its name.
    pub name: String,
    /// `collection`, `view` or `timeseries`.
    pub kind: String,
    /// `create` options: capped, size, validator, collation, viewOn, ...
    pub options: Document,
    /// Index specifications as `listIndexes` returns them.
    pub indexes: Vec<Document>,
    /// The collection's UUID, 32 hex digits (`None` for a view).
    pub uuid: Option<String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Meta {
    /// From one entry of `listCollections` and the collection's
    /// `listIndexes`.
    pub fn from_listing(entry: &Document, indexes: Vec<Document>) -> Result<Meta> {
        let bad = |d: &str| Error::Source {
            name: "mongodb listCollections".into(),
            detail: format!("{d} in {entry}"),
        };
        let name = entry.get_str("name").map_err(|_| bad("no name"))?;
        let kind = entry.get_str("type").unwrap_or("collection");
        let options = entry.get_document("options").cloned().unwrap_or_default();
        let uuid = match entry.get_document("info").ok().and_then(|i| i.get("uuid")) {
            Some(Bson::Binary(b)) => Some(hex(&b.bytes)),
            _ => None,
        };
        Ok(Meta {
            name: name.to_string(),
            kind: kind.to_string(),
            options,
            indexes,
            uuid,
        })
    }

    /// The `.metadata.json` text: canonical Extended JSON, keys in
    /// mongodump's order (index keys keep theirs: they make the index).
    pub fn to_json(&self) -> String {
        let mut d = doc! { "options": self.options.clone(), "indexes": self.indexes.clone() };
        if let Some(u) = &self.uuid {
            d.insert("uuid", u);
        }
        d.insert("collectionName", &self.name);
        d.insert("type", &self.kind);
        Bson::Document(d).into_canonical_extjson().to_string()
    }

    /// Reads `.metadata.json` text; `what` names it in errors.
    pub fn parse(text: &str, what: &str) -> Result<Meta> {
        let bad = |d: String| Error::corrupt(what, d);
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let d = match Bson::try_from(value).map_err(|e| bad(e.to_string()))? {
            Bson::Document(d) => d,
            other => return Err(bad(format!("not a document: {other}"))),
        };
        let name = d
            .get_str("collectionName")
            .map_err(|_| bad("no collectionName".into()))?;
        let indexes = match d.get_array("indexes") {
            Ok(a) => a
                .iter()
                .map(|i| match i {
                    Bson::Document(d) => Ok(d.clone()),
                    other => Err(bad(format!("an index that is not a document: {other}"))),
                })
                .collect::<Result<Vec<_>>>()?,
            Err(_) => Vec::new(),
        };
        Ok(Meta {
            name: name.to_string(),
            kind: d.get_str("type").unwrap_or("collection").to_string(),
            options: d.get_document("options").cloned().unwrap_or_default(),
            indexes,
            uuid: d.get_str("uuid").ok().map(str::to_string),
        })
    }

    /// Whether this holds documents (a view does not).
    pub fn has_documents(&self) -> bool {
        self.kind != "view"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_with_index_key_order() {
        let entry = doc! {
            "name": "orders", "type": "collection",
            "options": { "capped": true, "size": 4096_i64, "collation": { "locale": "fr" } },
            "info": { "readOnly": false, "uuid": bson::Binary {
                subtype: bson::spec::BinarySubtype::Uuid, bytes: vec![0xab; 16] } },
        };
        let idx = vec![doc! { "v": 2, "key": { "z": 1, "a": -1 }, "name": "z_1_a_-1" }];
        let m = Meta::from_listing(&entry, idx).expect("meta");
        assert_eq!(m.uuid.as_deref(), Some("abababababababababababababababab"));
        let text = m.to_json();
        assert!(text.starts_with(r#"{"options":{"capped":true,"size":{"$numberLong":"4096"}"#));
        assert!(text.contains(r#""key":{"z":{"$numberInt":"1"},"a":{"$numberInt":"-1"}}"#));
        assert_eq!(Meta::parse(&text, "t").expect("parse"), m);
        assert!(Meta::parse("{\"options\":{}}", "t").is_err());
        assert!(Meta::parse("[1]", "t").is_err());
    }
}
