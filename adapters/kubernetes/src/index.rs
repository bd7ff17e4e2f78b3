//! The snapshot's index of what was listed (`kubernetes-index.json`): one
//! entry per resource type with its plural name, scope, the list's
//! `resourceVersion` (the consistency marker) and how many objects were
//! stored, plus what was skipped and why. A restore reads the plural names
//! and scopes from it, so it needs no discovery of the target.

use crate::object::ObjectKey;
use cairn::{Error, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The index stream's name.
pub const INDEX_STREAM: &str = "kubernetes-index.json";
/// The index's own version.
pub const INDEX_VERSION: u64 = 1;

/// One listed resource type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// API group (`""` for core).
    pub group: String,
    /// Version listed (the group's preferred one).
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural resource name.
    pub plural: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// The `resourceVersion` of each list (one per namespace when lists
    /// were narrowed to namespaces; `*` for the all-namespaces list).
    pub resource_versions: BTreeMap<String, String>,
    /// Objects stored.
    pub objects: u64,
}

/// The whole index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Index {
    /// The API server's URL.
    pub server: String,
    /// Every listed type, by group, version and kind.
    pub listed: Vec<Listed>,
    /// Objects left out, by reason.
    pub skipped: BTreeMap<String, u64>,
}

impl Index {
    /// The entry of a stored object's type.
    pub fn of(&self, key: &ObjectKey) -> Option<&Listed> {
        self.listed
            .iter()
            .find(|l| l.group == key.group && l.version == key.version && l.kind == key.kind)
    }

    /// Objects stored, over all types.
    pub fn objects(&self) -> u64 {
        self.listed.iter().map(|l| l.objects).sum()
    }

    /// The index as JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let listed: Vec<Value> = self
            .listed
            .iter()
            .map(|l| {
                json!({"group": l.group, "version": l.version, "kind": l.kind, "plural": l.plural,
                "namespaced": l.namespaced, "resource_versions": l.resource_versions, "objects": l.objects})
            })
            .collect();
        crate::object::canonical(&json!({
            "version": INDEX_VERSION, "server": self.server, "listed": listed, "skipped": self.skipped,
        }))
    }

    /// Reads an index written by [`Index::to_bytes`].
    pub fn parse(bytes: &[u8]) -> Result<Index> {
        let bad = |d: &str| Error::corrupt(INDEX_STREAM, d.to_string());
        let v: Value = serde_json::from_slice(bytes).map_err(|e| bad(&e.to_string()))?;
        match v["version"].as_u64() {
            Some(INDEX_VERSION) => {}
            Some(n) => {
                return Err(Error::UnsupportedVersion {
                    what: INDEX_STREAM.into(),
                    found: n as u32,
                    supported: INDEX_VERSION as u32,
                })
            }
            None => return Err(bad("no version")),
        }
        let s = |x: &Value, k: &str| -> Result<String> {
            x[k].as_str()
                .map(str::to_string)
                .ok_or_else(|| bad(&format!("a listed type without {k}")))
        };
        let mut listed = Vec::new();
        for l in v["listed"]
            .as_array()
            .ok_or_else(|| bad("no listed types"))?
        {
            listed.push(Listed {
                group: s(l, "group")?,
                version: s(l, "version")?,
                kind: s(l, "kind")?,
                plural: s(l, "plural")?,
                namespaced: l["namespaced"].as_bool().ok_or_else(|| bad("no scope"))?,
                resource_versions: serde_json::from_value(l["resource_versions"].clone())
                    .map_err(|e| bad(&e.to_string()))?,
                objects: l["objects"]
                    .as_u64()
                    .ok_or_else(|| bad("no object count"))?,
            });
        }
        Ok(Index {
            server: s(&v, "server")?,
            listed,
            skipped: serde_json::from_value(v["skipped"].clone()).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_reads_back_and_a_newer_one_is_refused() {
        let i = Index {
            server: "https://k:6443".into(),
            listed: vec![Listed {
                group: "apps".into(),
                version: "v1".into(),
                kind: "Deployment".into(),
                plural: "deployments".into(),
                namespaced: true,
                resource_versions: [("*".to_string(), "42".to_string())].into(),
                objects: 3,
            }],
            skipped: [("nodes".to_string(), 2)].into(),
        };
        assert_eq!(Index::parse(&i.to_bytes()).expect("parse"), i);
        let newer = String::from_utf8(i.to_bytes())
            .expect("utf8")
            .replace("\"version\": 1", "\"version\": 9");
        assert!(matches!(
            Index::parse(newer.as_bytes()),
            Err(Error::UnsupportedVersion { found: 9, .. })
        ));
        assert!(matches!(
            Index::parse(b"{\"version\": 1"),
            Err(Error::Corrupt { .. })
        ));
    }
}
