//! One Kubernetes object as cairn stores it: its identity, its path in the
//! snapshot (`kubernetes/GROUP/VERSION/KIND/NAMESPACE/NAME.json`) and its
//! canonical bytes.

use cairn::{Error, Result};
use serde_json::Value;

/// Prefix of every object's stream.
pub const OBJECT_PREFIX: &str = "kubernetes/";
/// The directory name of the core group (`""` in the API).
pub const CORE_GROUP: &str = "core";
/// The namespace directory of cluster-scoped objects (namespace names are
/// DNS labels, so no namespace can be called this).
pub const CLUSTER_SCOPE: &str = "_cluster";

/// Who an object is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// API group, `""` for the core group.
    pub group: String,
    /// API version within the group (`v1`).
    pub version: String,
    /// Kind (`Deployment`).
    pub kind: String,
    /// Namespace, `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl ObjectKey {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        match self.group.is_empty() {
            true => self.version.clone(),
            false => format!("{}/{}", self.group, self.version),
        }
    }

    /// The stream name the object is stored under.
    pub fn path(&self) -> String {
        let group = match self.group.is_empty() {
            true => CORE_GROUP,
            false => &self.group,
        };
        let ns = self.namespace.as_deref().unwrap_or(CLUSTER_SCOPE);
        format!(
            "{OBJECT_PREFIX}{group}/{}/{}/{ns}/{}.json",
            self.version, self.kind, self.name
        )
    }

    /// The key of a stored stream name; `None` for other names.
    pub fn from_path(path: &str) -> Option<ObjectKey> {
        let rest = path.strip_prefix(OBJECT_PREFIX)?.strip_suffix(".json")?;
        let parts: Vec<&str> = rest.split('/').collect();
        let [group, version, kind, ns, name] = parts[..] else {
            return None;
        };
        if [group, version, kind, ns, name]
            .iter()
            .any(|p| p.is_empty())
        {
            return None;
        }
        Some(ObjectKey {
            group: if group == CORE_GROUP { "" } else { group }.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            namespace: (ns != CLUSTER_SCOPE).then(|| ns.to_string()),
            name: name.to_string(),
        })
    }

    /// The key an object's own `apiVersion`, `kind` and `metadata` say.
    pub fn of(obj: &Value) -> Result<ObjectKey> {
        let field = |v: Option<&Value>, what: &str| -> Result<String> {
            v.and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| Error::invalid(format!("a Kubernetes object without {what}")))
        };
        let api = field(obj.get("apiVersion"), "apiVersion")?;
        let (group, version) = match api.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api),
        };
        let meta = obj.get("metadata");
        let name = field(meta.and_then(|m| m.get("name")), "metadata.name")?;
        if name.contains('/') || name == "." || name == ".." {
            return Err(Error::invalid(format!(
                "object name {name:?} is not a path segment"
            )));
        }
        Ok(ObjectKey {
            group,
            version,
            kind: field(obj.get("kind"), "kind")?,
            namespace: meta
                .and_then(|m| m.get("namespace"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            name,
        })
    }

    /// `Deployment stoa-system/control-plane-api (apps/v1)`, for messages.
    pub fn describe(&self) -> String {
        let at = match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        };
        format!("{} {at} ({})", self.kind, self.api_version())
    }
}

/// The canonical bytes of an object: JSON with every map's keys sorted,
/// two-space indentation and a final newline. Equal objects always give
/// equal bytes, so an unchanged object deduplicates completely between
/// runs.
pub fn canonical(obj: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(&sorted(obj)).unwrap_or_default();
    out.push(b'\n');
    out
}

/// The same value with every map rebuilt in key order (so the order does
/// not depend on whether serde_json keeps insertion order).
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_for_core_and_cluster_objects() {
        let obj = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "stoa-system"}});
        let k = ObjectKey::of(&obj).expect("key");
        assert_eq!(
            k.path(),
            "kubernetes/core/v1/Namespace/_cluster/stoa-system.json"
        );
        assert_eq!(ObjectKey::from_path(&k.path()), Some(k));
        let obj = serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "system:x", "namespace": "n"}});
        let k = ObjectKey::of(&obj).expect("key");
        assert_eq!(
            k.path(),
            "kubernetes/rbac.authorization.k8s.io/v1/Role/n/system:x.json"
        );
        assert_eq!(ObjectKey::from_path(&k.path()), Some(k));
        assert_eq!(ObjectKey::from_path("kubernetes/a/b/c.json"), None);
        assert_eq!(ObjectKey::from_path("kubernetes-index.json"), None);
    }

    #[test]
    fn objects_without_identity_or_with_path_names_are_refused() {
        for bad in [
            serde_json::json!({"kind": "X", "metadata": {"name": "a"}}),
            serde_json::json!({"apiVersion": "v1", "metadata": {"name": "a"}}),
            serde_json::json!({"apiVersion": "v1", "kind": "X", "metadata": {}}),
            serde_json::json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "../a"}}),
            serde_json::json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": ".."}}),
        ] {
            assert!(ObjectKey::of(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn canonical_bytes_do_not_depend_on_key_order() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"y":2,"x":[3,{"q":1,"p":2}]}}"#).expect("a");
        let b: Value =
            serde_json::from_str(r#"{"a":{"x":[3,{"p":2,"q":1}],"y":2},"b":1}"#).expect("b");
        assert_eq!(canonical(&a), canonical(&b));
        assert!(canonical(&a).ends_with(b"}\n"));
    }
}
