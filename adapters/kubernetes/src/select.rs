//! Which resources and objects an operation takes: namespaces, kinds and
//! API groups, each with includes and excludes.

use crate::object::ObjectKey;

/// A selection; empty lists mean "all".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only objects in these namespaces (cluster-scoped objects: see
    /// [`Selection::cluster`]).
    pub namespaces: Vec<String>,
    /// Never objects in these namespaces.
    pub exclude_namespaces: Vec<String>,
    /// Only these kinds: `Deployment`, `deployments`, `deployments.apps`
    /// or `Deployment.apps` (case does not matter).
    pub kinds: Vec<String>,
    /// Never these kinds (same forms).
    pub exclude_kinds: Vec<String>,
    /// Only resources of these API groups (`core` for the core group).
    pub groups: Vec<String>,
    /// Cluster-scoped objects when namespaces are selected (without a
    /// namespace selection they are always taken). The Namespace objects of
    /// selected namespaces, and the CRDs of selected custom resources, are
    /// taken in any case.
    pub cluster: bool,
}

/// One resource type, as a selection sees it.
#[derive(Clone, Copy, Debug)]
pub struct Kind<'a> {
    /// API group (`""` for core).
    pub group: &'a str,
    /// Kind (`Deployment`).
    pub kind: &'a str,
    /// Plural resource name (`deployments`).
    pub plural: &'a str,
}

impl Kind<'_> {
    fn matches(&self, pattern: &str) -> bool {
        let p = pattern.to_ascii_lowercase();
        let (name, group) = match p.split_once('.') {
            Some((n, g)) => (n, Some(g)),
            None => (p.as_str(), None),
        };
        let group_ok = match group {
            None => true,
            Some("core") => self.group.is_empty(),
            Some(g) => g == self.group.to_ascii_lowercase(),
        };
        group_ok && (name == self.kind.to_ascii_lowercase() || name == self.plural)
    }
}

impl Selection {
    /// Whether a resource type is taken (before namespaces are looked at).
    pub fn takes_kind(&self, k: Kind<'_>) -> bool {
        let group = if k.group.is_empty() { "core" } else { k.group };
        (self.groups.is_empty() || self.groups.iter().any(|g| g == group))
            && (self.kinds.is_empty() || self.kinds.iter().any(|p| k.matches(p)))
            && !self.exclude_kinds.iter().any(|p| k.matches(p))
    }

    /// Whether an object of a taken kind is taken, by its namespace.
    pub fn takes_namespace(&self, namespace: Option<&str>) -> bool {
        match namespace {
            Some(ns) => {
                (self.namespaces.is_empty() || self.namespaces.iter().any(|n| n == ns))
                    && !self.exclude_namespaces.iter().any(|n| n == ns)
            }
            None => self.namespaces.is_empty() || self.cluster,
        }
    }

    /// Whether a cluster-scoped object is taken because of what else is:
    /// the Namespace of a selected namespace.
    pub fn takes_namespace_object(&self, key: &ObjectKey) -> bool {
        key.group.is_empty()
            && key.kind == "Namespace"
            && self.namespaces.contains(&key.name)
            && !self.exclude_namespaces.contains(&key.name)
    }

    /// Whether namespaced lists can be narrowed to the selected
    /// namespaces (one list per namespace instead of one for all).
    pub fn lists_per_namespace(&self) -> bool {
        !self.namespaces.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOY: Kind<'static> = Kind {
        group: "apps",
        kind: "Deployment",
        plural: "deployments",
    };
    const SECRET: Kind<'static> = Kind {
        group: "",
        kind: "Secret",
        plural: "secrets",
    };

    #[test]
    fn kinds_match_by_kind_plural_and_group() {
        for p in [
            "Deployment",
            "deployment",
            "deployments",
            "deployments.apps",
            "Deployment.apps",
        ] {
            let s = Selection {
                kinds: vec![p.into()],
                ..Default::default()
            };
            assert!(s.takes_kind(DEPLOY), "{p}");
            assert!(!s.takes_kind(SECRET), "{p}");
        }
        let s = Selection {
            kinds: vec!["deployments.batch".into()],
            ..Default::default()
        };
        assert!(!s.takes_kind(DEPLOY));
        let s = Selection {
            exclude_kinds: vec!["secrets.core".into()],
            ..Default::default()
        };
        assert!(!s.takes_kind(SECRET) && s.takes_kind(DEPLOY));
        let s = Selection {
            groups: vec!["core".into()],
            ..Default::default()
        };
        assert!(s.takes_kind(SECRET) && !s.takes_kind(DEPLOY));
    }

    #[test]
    fn namespaces_narrow_and_cluster_objects_need_asking() {
        let s = Selection {
            namespaces: vec!["a".into()],
            ..Default::default()
        };
        assert!(s.takes_namespace(Some("a")) && !s.takes_namespace(Some("b")));
        assert!(!s.takes_namespace(None));
        let s = Selection {
            namespaces: vec!["a".into()],
            cluster: true,
            ..Default::default()
        };
        assert!(s.takes_namespace(None));
        let s = Selection {
            exclude_namespaces: vec!["kube-system".into()],
            ..Default::default()
        };
        assert!(s.takes_namespace(None) && !s.takes_namespace(Some("kube-system")));
    }
}
