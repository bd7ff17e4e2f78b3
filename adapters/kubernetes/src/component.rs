//! Kubernetes as a plan component (`kind = "kubernetes"`).

use crate::api::Connection;
use crate::backup::{read_cluster, BackupOptions, DEFAULT_PAGE_SIZE};
use crate::index::INDEX_STREAM;
use crate::restore::{apply, describe, plan, write_yaml, RestoreOptions, RestorePlan};
use crate::select::Selection;
use crate::stored::read_snapshot;
use cairn::{Error, Result, StreamSource};
use cairn_plan::{Capture, CaptureCx, Component, Outcome, RestoreCx, Table};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where a restore goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreMode {
    /// Server-side apply into the cluster.
    Apply,
    /// Only print the ordered list.
    DryRun,
    /// YAML files under this directory, for `kubectl apply -f`.
    Yaml(PathBuf),
}

/// The resources of one cluster.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct KubernetesComponent {
    /// What a backup reads.
    pub backup: BackupOptions,
    /// What a restore does.
    pub restore: RestoreOptions,
    /// Where a restore goes.
    pub mode: RestoreMode,
}

impl KubernetesComponent {
    /// A component with these options.
    pub fn new(backup: BackupOptions, restore: RestoreOptions, mode: RestoreMode) -> Self {
        KubernetesComponent {
            backup,
            restore,
            mode,
        }
    }
}

fn connection(t: &mut Table) -> Result<Connection> {
    Ok(Connection {
        kubeconfig: t.str("kubeconfig")?.map(PathBuf::from),
        context: t.str("context")?,
    })
}

/// `kind = "kubernetes"`. Settings: `kubeconfig`, `context`, `namespaces`,
/// `exclude_namespaces`, `kinds`, `exclude_kinds`, `groups`, `cluster`
/// (cluster-scoped objects under a namespace selection), `selector` (a
/// label selector), `secrets` (default true), `page_size` (default 500).
/// Restore: `kubeconfig`, `context`, `namespaces`, `kinds`,
/// `exclude_kinds`, `include_owned`, `wait_seconds` (default 60),
/// `yaml_dir` (write YAML files instead of applying), `dry_run`.
pub fn from_settings(s: &mut Table, r: &mut Table) -> Result<Arc<dyn Component>> {
    let page_size = s.int("page_size")?.unwrap_or(DEFAULT_PAGE_SIZE as i64);
    if !(1..=u32::MAX as i64).contains(&page_size) {
        return Err(s.error("page_size must be at least 1"));
    }
    let backup = BackupOptions {
        connection: connection(s)?,
        selection: Selection {
            namespaces: s.strs("namespaces")?,
            exclude_namespaces: s.strs("exclude_namespaces")?,
            kinds: s.strs("kinds")?,
            exclude_kinds: s.strs("exclude_kinds")?,
            groups: s.strs("groups")?,
            cluster: s.bool("cluster")?.unwrap_or(false),
        },
        labels: s.str("selector")?,
        secrets: s.bool("secrets")?.unwrap_or(true),
        page_size: page_size as u32,
    };
    let wait = r
        .int("wait_seconds")?
        .unwrap_or(crate::restore::DEFAULT_WAIT.as_secs() as i64);
    if wait < 0 {
        return Err(r.error("wait_seconds must be 0 or more"));
    }
    let restore = RestoreOptions {
        connection: connection(r)?,
        selection: Selection {
            namespaces: r.strs("namespaces")?,
            kinds: r.strs("kinds")?,
            exclude_kinds: r.strs("exclude_kinds")?,
            ..Default::default()
        },
        include_owned: r.bool("include_owned")?.unwrap_or(false),
        wait: Duration::from_secs(wait as u64),
    };
    let mode = match (r.str("yaml_dir")?, r.bool("dry_run")?.unwrap_or(false)) {
        (Some(_), true) => return Err(r.error("`yaml_dir` and `dry_run` exclude each other")),
        (Some(d), false) => RestoreMode::Yaml(PathBuf::from(d)),
        (None, true) => RestoreMode::DryRun,
        (None, false) => RestoreMode::Apply,
    };
    Ok(Arc::new(KubernetesComponent::new(backup, restore, mode)))
}

fn where_from(c: &Connection) -> String {
    match (&c.kubeconfig, &c.context) {
        (Some(k), Some(x)) => format!("context {x} of {}", k.display()),
        (Some(k), None) => format!("the current context of {}", k.display()),
        (None, Some(x)) => format!("context {x}"),
        (None, None) => "the default kubeconfig or the in-cluster service account".into(),
    }
}

fn list_or_all(v: &[String], what: &str) -> String {
    match v.is_empty() {
        true => format!("every {what}"),
        false => format!("{what}s {}", v.join(",")),
    }
}

fn counts(map: &BTreeMap<String, u64>) -> String {
    map.iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Component for KubernetesComponent {
    fn kind(&self) -> &'static str {
        "kubernetes"
    }

    fn describe(&self) -> String {
        let s = &self.backup.selection;
        format!(
            "Kubernetes resources ({}, {}) from {}",
            list_or_all(&s.namespaces, "namespace"),
            list_or_all(&s.kinds, "kind"),
            where_from(&self.backup.connection)
        )
    }

    fn capture(&self, cx: &CaptureCx<'_>) -> Result<Capture> {
        let read = read_cluster(&self.backup, &cx.cancel)?;
        let index = read.index;
        let mut streams = vec![StreamSource::from_reader(
            INDEX_STREAM,
            std::io::Cursor::new(index.to_bytes()),
        )];
        let namespaces: std::collections::BTreeSet<&str> = read
            .objects
            .keys()
            .filter_map(|k| k.namespace.as_deref())
            .collect();
        let facts = [
            ("server", index.server.clone()),
            ("objects", read.objects.len().to_string()),
            (
                "types",
                index
                    .listed
                    .iter()
                    .filter(|l| l.objects > 0)
                    .count()
                    .to_string(),
            ),
            ("namespaces", namespaces.len().to_string()),
            ("skipped", counts(&index.skipped)),
        ];
        for (key, bytes) in read.objects {
            streams.push(StreamSource::from_reader(
                key.path(),
                std::io::Cursor::new(bytes),
            ));
        }
        let mut c = Capture::streams(streams).consistency(
            "one list per resource type, each consistent at its own resourceVersion (recorded); \
             the Kubernetes API has no snapshot across types",
        );
        for (k, v) in facts {
            c = c.info("kubernetes", k, v);
        }
        for l in &index.listed {
            for (ns, rv) in &l.resource_versions {
                let name = crate::skip::resource_name(&l.plural, &l.group);
                c.marker
                    .insert(format!("kubernetes.rv.{name}.{ns}"), rv.clone());
            }
        }
        Ok(c)
    }

    fn restore_target(&self) -> String {
        match &self.mode {
            RestoreMode::Apply => format!(
                "server-side apply (field manager cairn) into {}",
                where_from(&self.restore.connection)
            ),
            RestoreMode::DryRun => "nothing (dry run: the ordered list only)".into(),
            RestoreMode::Yaml(d) => {
                format!("YAML files under {} for kubectl apply -f", d.display())
            }
        }
    }

    fn restore(&self, cx: &RestoreCx<'_>) -> Result<Outcome> {
        let (index, stored) = read_snapshot(cx.repo, &cx.id, cx.snapshot)?;
        let p = plan(&index, stored, &self.restore)?;
        if p.items.is_empty() {
            return Err(Error::invalid(format!(
                "nothing to restore: no object of snapshot {} matches the selection",
                cx.id.short()
            )));
        }
        match &self.mode {
            RestoreMode::DryRun => Ok(outcome(
                &p,
                format!("would apply {} objects, in this order", p.items.len()),
                describe(&p),
            )),
            RestoreMode::Yaml(dir) => {
                let files = write_yaml(&p, dir)?;
                let mut o = outcome(
                    &p,
                    format!("wrote {} YAML files under {}", files.len(), dir.display()),
                    vec![],
                );
                o.details.push(format!(
                    "apply with: kubectl apply --server-side -f {d}/0-crds && kubectl wait --for condition=Established crd --all && kubectl apply --server-side -R -f {d}/1-objects",
                    d = dir.display()
                ));
                Ok(o)
            }
            RestoreMode::Apply => {
                let done = apply(&p, &self.restore, &|line| cx.say(line))?;
                if !done.failed.is_empty() {
                    return Err(Error::Source {
                        name: "kubernetes restore".into(),
                        detail: format!(
                            "{} of {} objects applied, {} failed: {}",
                            done.applied,
                            p.items.len(),
                            done.failed.len(),
                            done.failed.join("; ")
                        ),
                    });
                }
                Ok(outcome(
                    &p,
                    format!("applied {} objects", done.applied),
                    vec![],
                ))
            }
        }
    }

    fn verify(&self, cx: &RestoreCx<'_>) -> Result<Outcome> {
        let (index, stored) = read_snapshot(cx.repo, &cx.id, cx.snapshot)?;
        checked(cx, &index, &stored)
    }

    fn drill(&self, cx: &RestoreCx<'_>, scratch: &std::path::Path) -> Result<Outcome> {
        // One read of the snapshot serves the check and the YAML files.
        let (index, stored) = read_snapshot(cx.repo, &cx.id, cx.snapshot)?;
        let mut o = checked(cx, &index, &stored)?;
        let p = plan(
            &index,
            stored,
            &RestoreOptions {
                include_owned: true,
                ..Default::default()
            },
        )?;
        let dir = scratch.join("kubernetes-yaml");
        let files = write_yaml(&p, &dir)?;
        for (f, it) in files.iter().zip(&p.items) {
            let text = std::fs::read_to_string(f).map_err(|e| Error::io(f, e))?;
            let back: serde_json::Value = serde_yaml_ng::from_str(&text)
                .map_err(|e| Error::corrupt(f.display().to_string(), e.to_string()))?;
            if back != it.object {
                return Err(Error::corrupt(
                    f.display().to_string(),
                    "the YAML does not read back as the stored object",
                ));
            }
        }
        o.details
            .push(format!("{} YAML files written and read back", files.len()));
        Ok(o)
    }
}

fn outcome(p: &RestorePlan, summary: String, mut details: Vec<String>) -> Outcome {
    if !p.left_out.is_empty() {
        details.push(format!("left out: {}", counts(&p.left_out)));
    }
    Outcome {
        summary,
        items: p.items.len() as u64,
        bytes: 0,
        details,
        data: serde_json::json!({
            "objects": p.items.len(),
            "order": p.items.iter().map(|i| i.key.path()).collect::<Vec<_>>(),
            "left_out": p.left_out,
        }),
    }
}

/// The stored set checked against its index: as many objects as it lists
/// (each already parsed and matched to its path).
fn checked(
    cx: &RestoreCx<'_>,
    index: &crate::index::Index,
    stored: &[crate::stored::Stored],
) -> Result<Outcome> {
    let want = index.objects();
    if stored.len() as u64 != want {
        return Err(Error::corrupt(
            format!("snapshot {}", cx.id.short()),
            format!(
                "{} objects are stored but the index lists {want}",
                stored.len()
            ),
        ));
    }
    let bytes = stored.iter().map(|s| s.bytes).sum();
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for s in stored {
        *by_kind.entry(s.key.kind.clone()).or_default() += 1;
    }
    Ok(Outcome {
        summary: format!("{want} objects parse and are the objects their paths name"),
        items: want,
        bytes,
        details: vec![counts(&by_kind)],
        data: serde_json::json!({ "objects": want, "kinds": by_kind }),
    })
}
