//! Restoring objects: the stored set narrowed by the selection, put in
//! restore order, then applied with server-side apply (CRDs first, waited
//! for until Established), printed (`--dry-run`) or written as YAML files
//! for `kubectl apply -f`.

use crate::api::{Cluster, Connection, Resource};
use crate::backup::crd_resource;
use crate::index::Index;
use crate::object::ObjectKey;
use crate::order::{is_crd, sort};
use crate::select::{Kind, Selection};
use crate::skip::{controlled_by, resource_name};
use crate::stored::Stored;
use cairn::{Error, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a restore waits for its CRDs to become Established by default.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// What a restore does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreOptions {
    /// The target cluster.
    pub connection: Connection,
    /// Which objects (namespaces, kinds).
    pub selection: Selection,
    /// Also objects a controller owns (pods of a ReplicaSet, ...), which
    /// are left to the restored controllers by default.
    pub include_owned: bool,
    /// How long to wait for restored CRDs to become Established.
    pub wait: Duration,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            connection: Connection::default(),
            selection: Selection::default(),
            include_owned: false,
            wait: DEFAULT_WAIT,
        }
    }
}

/// One object to apply.
pub struct Item {
    /// Who it is.
    pub key: ObjectKey,
    /// Where it is applied.
    pub resource: Resource,
    /// The object.
    pub object: Value,
}

/// The ordered objects of a restore, and what was left out by reason.
pub struct RestorePlan {
    /// In apply order.
    pub items: Vec<Item>,
    /// Objects left out, by reason.
    pub left_out: BTreeMap<String, u64>,
}

fn resource_of(index: &Index, key: &ObjectKey) -> Result<Resource> {
    let l = index.of(key).ok_or_else(|| {
        Error::corrupt(
            crate::index::INDEX_STREAM,
            format!("{} is stored but its type is not listed", key.describe()),
        )
    })?;
    Ok(Resource {
        group: l.group.clone(),
        version: l.version.clone(),
        kind: l.kind.clone(),
        plural: l.plural.clone(),
        namespaced: l.namespaced,
    })
}

/// Narrows and orders the stored objects.
pub fn plan(index: &Index, stored: Vec<Stored>, o: &RestoreOptions) -> Result<RestorePlan> {
    let sel = &o.selection;
    let mut left_out: BTreeMap<String, u64> = BTreeMap::new();
    let mut items = Vec::new();
    let mut crds = Vec::new();
    for s in stored {
        let r = resource_of(index, &s.key)?;
        let kind = Kind {
            group: &r.group,
            kind: &r.kind,
            plural: &r.plural,
        };
        if !sel.takes_kind(kind) {
            continue;
        }
        if let (false, Some(owner)) = (o.include_owned, controlled_by(&s.object)) {
            *left_out
                .entry(format!("owned by a {owner} (recreated by it)"))
                .or_default() += 1;
            continue;
        }
        let in_scope =
            sel.takes_namespace(s.key.namespace.as_deref()) || sel.takes_namespace_object(&s.key);
        match (in_scope, is_crd(&s.key)) {
            (true, _) => items.push((s.key, r.plural.clone(), (r, s.object))),
            (false, true) => crds.push((s.key, r.plural.clone(), (r, s.object))),
            (false, false) => {}
        }
    }
    // Under a namespace selection, the CRDs of the custom resources taken.
    let taken: BTreeSet<String> = items
        .iter()
        .map(|(k, p, _)| resource_name(p, &k.group))
        .collect();
    items.extend(
        crds.into_iter()
            .filter(|(_, _, (_, obj))| taken.contains(&crd_resource(obj))),
    );
    sort(&mut items);
    let items = items
        .into_iter()
        .map(|(key, _, (resource, object))| Item {
            key,
            resource,
            object,
        })
        .collect();
    Ok(RestorePlan { items, left_out })
}

/// One line per object, numbered, for `--dry-run`.
pub fn describe(plan: &RestorePlan) -> Vec<String> {
    plan.items
        .iter()
        .enumerate()
        .map(|(i, it)| format!("{:>4}. {}", i + 1, it.key.describe()))
        .collect()
}

/// What an apply did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Objects applied.
    pub applied: u64,
    /// Objects that failed, with the server's answer.
    pub failed: Vec<String>,
}

/// Applies the plan: CRDs, a wait until they are Established, then the rest.
pub fn apply(plan: &RestorePlan, o: &RestoreOptions, log: &dyn Fn(&str)) -> Result<Applied> {
    let cluster = Cluster::connect(&o.connection)?;
    let mut done = Applied::default();
    let (crds, rest): (Vec<&Item>, Vec<&Item>) = plan.items.iter().partition(|i| is_crd(&i.key));
    apply_all(&cluster, &crds, &mut done, log);
    if !crds.is_empty() {
        wait_established(&cluster, &crds, o.wait, log)?;
    }
    apply_all(&cluster, &rest, &mut done, log);
    Ok(done)
}

fn apply_all(cluster: &Cluster, items: &[&Item], done: &mut Applied, log: &dyn Fn(&str)) {
    for it in items {
        let ns = it.key.namespace.as_deref();
        match cluster.apply(&it.resource, ns, &it.key.name, &it.object) {
            Ok(_) => {
                done.applied += 1;
                log(&format!("applied {}", it.key.describe()));
            }
            Err(e) => {
                log(&format!("failed {}: {e}", it.key.describe()));
                done.failed.push(format!("{}: {e}", it.key.describe()));
            }
        }
    }
}

fn established(crd: &Value) -> bool {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter().any(|c| {
                c["type"].as_str() == Some("Established") && c["status"].as_str() == Some("True")
            })
        })
}

fn wait_established(
    cluster: &Cluster,
    crds: &[&Item],
    wait: Duration,
    log: &dyn Fn(&str),
) -> Result<()> {
    let deadline = Instant::now() + wait;
    for it in crds {
        loop {
            let ok = cluster
                .get(&it.resource, None, &it.key.name)
                .map(|c| established(&c))
                .unwrap_or(false);
            if ok {
                log(&format!("established {}", it.key.name));
                break;
            }
            if Instant::now() >= deadline {
                return Err(Error::Source {
                    name: "kubernetes restore".into(),
                    detail: format!(
                        "CustomResourceDefinition {} is not Established after {} s; nothing after the CRDs was applied (raise `wait`, or check the API server's logs)",
                        it.key.name,
                        wait.as_secs()
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    Ok(())
}

/// Writes the plan as YAML files for `kubectl apply -f`: the CRDs under
/// `DIR/0-crds/`, everything else under `DIR/1-objects/`, each file
/// numbered in restore order. `DIR` must not exist or be empty; nothing is
/// overwritten.
pub fn write_yaml(plan: &RestorePlan, dir: &Path) -> Result<Vec<PathBuf>> {
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Error::invalid(format!(
            "{} is not empty: the YAML files go into a new or empty directory",
            dir.display()
        )));
    }
    let mut written = Vec::new();
    for (i, it) in plan.items.iter().enumerate() {
        let sub = dir.join(if is_crd(&it.key) {
            "0-crds"
        } else {
            "1-objects"
        });
        std::fs::create_dir_all(&sub).map_err(|e| Error::io(&sub, e))?;
        let ns = it.key.namespace.as_deref().unwrap_or("_cluster");
        let path = sub.join(format!(
            "{:04}-{}-{ns}-{}.yaml",
            i + 1,
            it.key.kind,
            it.key.name
        ));
        let yaml = serde_yaml_ng::to_string(&it.object)
            .map_err(|e| Error::internal(format!("YAML of {}: {e}", it.key.describe())))?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        std::io::Write::write_all(&mut f, yaml.as_bytes()).map_err(|e| Error::io(&path, e))?;
        written.push(path);
    }
    Ok(written)
}
