//! The order a restore applies objects in: what others depend on first,
//! as Velero orders it (CRDs, namespaces, storage, identities, secrets and
//! configuration, then the workloads and everything else).

use crate::object::ObjectKey;
use crate::skip::resource_name;

/// Resource types applied first, in this order (`plural.group`; `plural`
/// for the core group). Everything else follows, ordered by group, kind,
/// namespace and name.
pub const PRIORITY: &[&str] = &[
    "customresourcedefinitions.apiextensions.k8s.io",
    "namespaces",
    "storageclasses.storage.k8s.io",
    "volumesnapshotclasses.snapshot.storage.k8s.io",
    "volumesnapshotcontents.snapshot.storage.k8s.io",
    "volumesnapshots.snapshot.storage.k8s.io",
    "persistentvolumes",
    "persistentvolumeclaims",
    "serviceaccounts",
    "secrets",
    "configmaps",
    "limitranges",
    "resourcequotas",
    "pods",
    "replicasets.apps",
    "endpoints",
    "services",
];

/// Where a resource type goes: its place in [`PRIORITY`], or after all of it.
pub fn rank(plural: &str, group: &str) -> usize {
    let name = resource_name(plural, group);
    PRIORITY
        .iter()
        .position(|p| *p == name)
        .unwrap_or(PRIORITY.len())
}

/// Sorts `(key, plural)` pairs into restore order.
pub fn sort<T>(items: &mut [(ObjectKey, String, T)]) {
    items.sort_by(|(a, pa, _), (b, pb, _)| {
        (rank(pa, &a.group), &a.group, &a.kind, &a.namespace, &a.name).cmp(&(
            rank(pb, &b.group),
            &b.group,
            &b.kind,
            &b.namespace,
            &b.name,
        ))
    });
}

/// Whether an object is a CustomResourceDefinition (applied first, then
/// waited for).
pub fn is_crd(key: &ObjectKey) -> bool {
    key.group == "apiextensions.k8s.io" && key.kind == "CustomResourceDefinition"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(group: &str, kind: &str, ns: Option<&str>, name: &str) -> ObjectKey {
        ObjectKey {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: ns.map(str::to_string),
            name: name.into(),
        }
    }

    #[test]
    fn dependencies_come_first_and_the_rest_is_stable() {
        let mut items = vec![
            (
                key("apps", "Deployment", Some("a"), "web"),
                "deployments".to_string(),
                (),
            ),
            (
                key("", "ConfigMap", Some("a"), "cfg"),
                "configmaps".to_string(),
                (),
            ),
            (
                key("gostoa.dev", "Tool", Some("a"), "t"),
                "tools".to_string(),
                (),
            ),
            (
                key("", "Namespace", None, "a"),
                "namespaces".to_string(),
                (),
            ),
            (key("", "Secret", Some("a"), "s"), "secrets".to_string(), ()),
            (
                key(
                    "apiextensions.k8s.io",
                    "CustomResourceDefinition",
                    None,
                    "tools.gostoa.dev",
                ),
                "customresourcedefinitions".to_string(),
                (),
            ),
            (
                key("", "PersistentVolumeClaim", Some("a"), "data"),
                "persistentvolumeclaims".to_string(),
                (),
            ),
            (
                key("", "ServiceAccount", Some("a"), "sa"),
                "serviceaccounts".to_string(),
                (),
            ),
            (
                key("apps", "Deployment", Some("a"), "api"),
                "deployments".to_string(),
                (),
            ),
        ];
        sort(&mut items);
        let kinds: Vec<String> = items
            .iter()
            .map(|(k, _, _)| format!("{}:{}", k.kind, k.name))
            .collect();
        assert_eq!(
            kinds,
            [
                "CustomResourceDefinition:tools.gostoa.dev",
                "Namespace:a",
                "PersistentVolumeClaim:data",
                "ServiceAccount:sa",
                "Secret:s",
                "ConfigMap:cfg",
                "Deployment:api",
                "Deployment:web",
                "Tool:t",
            ]
        );
    }
}
