//! Reading a cluster: discovery, then a paged list of every selected
//! resource type, each object cleaned of what the server added and kept in
//! its canonical form.

use crate::api::{Cluster, Connection, Resource};
use crate::clean::clean;
use crate::index::{Index, Listed};
use crate::object::{canonical, ObjectKey};
use crate::select::{Kind, Selection};
use crate::skip::{resource_name, skip_object, NEVER};
use cairn::{Error, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

/// The default page size of lists (kubectl's).
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// What a backup reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupOptions {
    /// The cluster.
    pub connection: Connection,
    /// Which namespaces, kinds and groups.
    pub selection: Selection,
    /// A label selector every list is narrowed by (`app=x,tier!=web`).
    pub labels: Option<String>,
    /// Secrets are stored (encrypted, as everything is) unless this is false.
    pub secrets: bool,
    /// Objects per list request.
    pub page_size: u32,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            connection: Connection::default(),
            selection: Selection::default(),
            labels: None,
            secrets: true,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

/// What a backup read: every object's canonical bytes by key, and the index.
pub struct Read {
    /// Objects, in key order.
    pub objects: BTreeMap<ObjectKey, Vec<u8>>,
    /// What was listed and skipped.
    pub index: Index,
}

/// Reads the cluster.
pub fn read_cluster(o: &BackupOptions, cancel: &AtomicBool) -> Result<Read> {
    if o.page_size == 0 {
        return Err(Error::invalid("page_size must be at least 1"));
    }
    let cluster = Cluster::connect(&o.connection)?;
    let resources = cluster.discover()?;
    let mut r = Reader {
        o,
        cluster: &cluster,
        read: Read {
            objects: BTreeMap::new(),
            index: Index {
                server: cluster.server.clone(),
                ..Default::default()
            },
        },
        pending_crds: Vec::new(),
    };
    for res in &resources {
        if !r.wanted(res) {
            continue;
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Interrupted("kubernetes backup".into()));
        }
        r.list(res)?;
    }
    r.keep_needed_crds();
    // Discovery answers in no fixed order; the index must not change
    // when the cluster did not.
    r.read
        .index
        .listed
        .sort_by(|a, b| (&a.group, &a.version, &a.kind).cmp(&(&b.group, &b.version, &b.kind)));
    Ok(r.read)
}

struct Reader<'a> {
    o: &'a BackupOptions,
    cluster: &'a Cluster,
    read: Read,
    /// CRDs held back under a namespace selection: kept only when objects
    /// of theirs are stored.
    pending_crds: Vec<(ObjectKey, Vec<u8>, String)>,
}

fn is_crd(group: &str, kind: &str) -> bool {
    group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition"
}

impl Reader<'_> {
    fn wanted(&self, r: &Resource) -> bool {
        let name = resource_name(&r.plural, &r.group);
        if NEVER.contains(&name.as_str()) {
            return false;
        }
        if !self.o.secrets && r.group.is_empty() && r.kind == "Secret" {
            return false;
        }
        let sel = &self.o.selection;
        let kind = Kind {
            group: &r.group,
            kind: &r.kind,
            plural: &r.plural,
        };
        if !sel.takes_kind(kind) {
            return false;
        }
        // Cluster-scoped types under a namespace selection: only the
        // Namespaces themselves and the CRDs of what is stored.
        r.namespaced
            || sel.takes_namespace(None)
            || (r.group.is_empty() && r.kind == "Namespace")
            || is_crd(&r.group, &r.kind)
    }

    fn list(&mut self, res: &Resource) -> Result<()> {
        let sel = &self.o.selection;
        let scopes: Vec<Option<&str>> = match res.namespaced && sel.lists_per_namespace() {
            true => sel.namespaces.iter().map(|n| Some(n.as_str())).collect(),
            false => vec![None],
        };
        let mut listed = Listed {
            group: res.group.clone(),
            version: res.version.clone(),
            kind: res.kind.clone(),
            plural: res.plural.clone(),
            namespaced: res.namespaced,
            resource_versions: BTreeMap::new(),
            objects: 0,
        };
        for ns in scopes {
            let rv = self.list_pages(res, ns, &mut listed)?;
            listed
                .resource_versions
                .insert(ns.unwrap_or("*").to_string(), rv);
        }
        self.read.index.listed.push(listed);
        Ok(())
    }

    /// Every object of one list; returns the list's resourceVersion.
    fn list_pages(
        &mut self,
        res: &Resource,
        ns: Option<&str>,
        listed: &mut Listed,
    ) -> Result<String> {
        let (rv, items) = match self.fetch(res, ns, self.o.page_size)? {
            Some(list) => list,
            // The continue token expired (the server compacted past the
            // list's resourceVersion): one list without paging, as
            // client-go falls back.
            None => self.fetch(res, ns, 0)?.ok_or_else(|| {
                Error::internal(format!("an unpaged list of {} expired", res.url(ns)))
            })?,
        };
        for item in items {
            listed.objects += self.take(res, item)? as u64;
        }
        Ok(rv)
    }

    /// The pages of one list, followed to the end: its resourceVersion and
    /// items, or `None` when a continue token expired.
    fn fetch(
        &self,
        res: &Resource,
        ns: Option<&str>,
        limit: u32,
    ) -> Result<Option<(String, Vec<Value>)>> {
        let mut token: Option<String> = None;
        let mut rv = None;
        let mut items = Vec::new();
        loop {
            let labels = self.o.labels.as_deref();
            let Some(mut page) =
                self.cluster
                    .list_page(res, ns, limit, token.as_deref(), labels)?
            else {
                return Ok(None);
            };
            if rv.is_none() {
                rv = page
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            if let Some(Value::Array(a)) = page.get_mut("items").map(Value::take) {
                items.extend(a);
            }
            token = page
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                return Ok(Some((rv.unwrap_or_default(), items)));
            }
        }
    }

    /// Cleans and stores one listed object; whether it was stored.
    fn take(&mut self, res: &Resource, mut item: Value) -> Result<bool> {
        if let Some(why) = skip_object(&res.group, &res.kind, &item) {
            *self.read.index.skipped.entry(why.to_string()).or_default() += 1;
            return Ok(false);
        }
        clean(&mut item, &res.api_version(), &res.kind);
        let key = ObjectKey::of(&item).map_err(|e| Error::Source {
            name: format!("kubernetes list {}", res.url(None)),
            detail: e.to_string(),
        })?;
        let sel = &self.o.selection;
        let bytes = canonical(&item);
        if !sel.takes_namespace(key.namespace.as_deref()) {
            if is_crd(&res.group, &res.kind) {
                let served = crd_resource(&item);
                self.pending_crds.push((key, bytes, served));
                return Ok(false);
            }
            if !sel.takes_namespace_object(&key) {
                return Ok(false);
            }
        }
        self.read.objects.insert(key, bytes);
        Ok(true)
    }

    fn keep_needed_crds(&mut self) {
        let stored: BTreeSet<String> = self
            .read
            .index
            .listed
            .iter()
            .filter(|l| l.objects > 0)
            .map(|l| resource_name(&l.plural, &l.group))
            .collect();
        for (key, bytes, served) in std::mem::take(&mut self.pending_crds) {
            if !stored.contains(&served) {
                continue;
            }
            let listed =
                self.read.index.listed.iter_mut().find(|l| {
                    l.group == key.group && l.version == key.version && l.kind == key.kind
                });
            if let Some(l) = listed {
                l.objects += 1;
            }
            self.read.objects.insert(key, bytes);
        }
    }
}

/// `plural.group` of the resource a CRD defines.
pub fn crd_resource(crd: &Value) -> String {
    let group = crd
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or("");
    let plural = crd
        .pointer("/spec/names/plural")
        .and_then(Value::as_str)
        .unwrap_or("");
    resource_name(plural, group)
}
