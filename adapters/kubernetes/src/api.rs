//! The Kubernetes API as the adapter uses it, through the `kube` crate
//! (kubeconfig or in-cluster service account, rustls): discovery, paged
//! lists, server-side apply and reads, each a blocking call on a private
//! runtime.

use cairn::{Error, Result};
use kube::api::{GetParams, ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::Request;
use kube::discovery::{verbs, Discovery, Scope};
use serde_json::Value;
use std::path::PathBuf;

/// The field manager of every apply.
pub const FIELD_MANAGER: &str = "cairn";

/// How to reach a cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Connection {
    /// A kubeconfig file (default: `KUBECONFIG`, `~/.kube/config`, then the
    /// in-cluster service account).
    pub kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig (default: its current context).
    pub context: Option<String>,
}

/// One resource type the server serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// API group (`""` for core).
    pub group: String,
    /// Version (the group's preferred one, from discovery).
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural name, as in URLs.
    pub plural: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
}

impl Resource {
    /// `apps/v1` or `v1`.
    pub fn api_version(&self) -> String {
        match self.group.is_empty() {
            true => self.version.clone(),
            false => format!("{}/{}", self.group, self.version),
        }
    }

    /// The collection's URL path, in a namespace or across all.
    pub fn url(&self, namespace: Option<&str>) -> String {
        let base = match self.group.is_empty() {
            true => format!("/api/{}", self.version),
            false => format!("/apis/{}/{}", self.group, self.version),
        };
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{base}/namespaces/{ns}/{}", self.plural),
            _ => format!("{base}/{}", self.plural),
        }
    }
}

/// A connected client.
pub struct Cluster {
    rt: tokio::runtime::Runtime,
    client: kube::Client,
    /// The API server's URL.
    pub server: String,
}

fn failed(what: impl Into<String>, e: impl std::fmt::Display) -> Error {
    Error::Source {
        name: what.into(),
        detail: e.to_string(),
    }
}

async fn config(c: &Connection) -> Result<kube::Config> {
    let opts = KubeConfigOptions {
        context: c.context.clone(),
        ..Default::default()
    };
    let what = "kubernetes configuration";
    match &c.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .map_err(|e| failed(what, format!("{}: {e}", path.display())))?;
            kube::Config::from_custom_kubeconfig(kc, &opts)
                .await
                .map_err(|e| failed(what, format!("{}: {e}", path.display())))
        }
        None if c.context.is_some() => kube::Config::from_kubeconfig(&opts)
            .await
            .map_err(|e| failed(what, e)),
        None => kube::Config::infer().await.map_err(|e| {
            failed(
                what,
                format!(
                    "{e} (set `kubeconfig`, KUBECONFIG, or run in a pod with a service account)"
                ),
            )
        }),
    }
}

impl Cluster {
    /// Connects (no request is made yet).
    pub fn connect(c: &Connection) -> Result<Cluster> {
        // rustls refuses to choose when a build links two providers (the
        // workspace does); this client uses ring. An error only means a
        // provider is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::internal(format!("a runtime for the Kubernetes client: {e}")))?;
        let cfg = rt.block_on(config(c))?;
        let server = cfg
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let client = rt.block_on(async { kube::Client::try_from(cfg) });
        let client = client.map_err(|e| failed(format!("kubernetes client for {server}"), e))?;
        Ok(Cluster { rt, client, server })
    }

    fn error(&self, what: &str, e: kube::Error) -> Error {
        failed(format!("kubernetes {what} at {}", self.server), e)
    }

    /// Every served resource type that supports `list`, at its group's
    /// preferred version, in discovery order (subresources left out).
    pub fn discover(&self) -> Result<Vec<Resource>> {
        let d = self
            .rt
            .block_on(Discovery::new(self.client.clone()).run())
            .map_err(|e| self.error("discovery", e))?;
        let mut out = Vec::new();
        for g in d.groups() {
            for (ar, caps) in g.recommended_resources() {
                if !caps.supports_operation(verbs::LIST) {
                    continue;
                }
                out.push(Resource {
                    group: ar.group,
                    version: ar.version,
                    kind: ar.kind,
                    plural: ar.plural,
                    namespaced: matches!(caps.scope, Scope::Namespaced),
                });
            }
        }
        Ok(out)
    }

    /// One page of a list: the list object (`metadata.continue`,
    /// `metadata.resourceVersion`, `items`). A `limit` of 0 asks for the
    /// whole list at once. `None` when the server says the continue token
    /// expired (410: it compacted past the list's resourceVersion).
    pub fn list_page(
        &self,
        r: &Resource,
        namespace: Option<&str>,
        limit: u32,
        token: Option<&str>,
        labels: Option<&str>,
    ) -> Result<Option<Value>> {
        let mut lp = ListParams::default();
        if limit > 0 {
            lp = lp.limit(limit);
        }
        if let Some(t) = token {
            lp = lp.continue_token(t);
        }
        if let Some(l) = labels {
            lp = lp.labels(l);
        }
        let url = r.url(namespace);
        let req = Request::new(&url)
            .list(&lp)
            .map_err(|e| failed(format!("kubernetes list {url}"), e))?;
        match self.rt.block_on(self.client.request::<Value>(req)) {
            Ok(v) => Ok(Some(v)),
            Err(kube::Error::Api(s)) if s.code == 410 && token.is_some() => Ok(None),
            Err(e) => Err(self.error(&format!("list {url}"), e)),
        }
    }

    /// Server-side apply of one object (field manager `cairn`, conflicts
    /// forced: the backup is the truth being restored).
    pub fn apply(
        &self,
        r: &Resource,
        namespace: Option<&str>,
        name: &str,
        obj: &Value,
    ) -> Result<Value> {
        let url = r.url(namespace);
        let pp = PatchParams::apply(FIELD_MANAGER).force();
        let req = Request::new(&url)
            .patch(name, &pp, &Patch::Apply(obj))
            .map_err(|e| failed(format!("kubernetes apply {url}/{name}"), e))?;
        self.rt
            .block_on(self.client.request::<Value>(req))
            .map_err(|e| self.error(&format!("apply {url}/{name}"), e))
    }

    /// Reads one object.
    pub fn get(&self, r: &Resource, namespace: Option<&str>, name: &str) -> Result<Value> {
        let url = r.url(namespace);
        let req = Request::new(&url)
            .get(name, &GetParams::default())
            .map_err(|e| failed(format!("kubernetes get {url}/{name}"), e))?;
        self.rt
            .block_on(self.client.request::<Value>(req))
            .map_err(|e| self.error(&format!("get {url}/{name}"), e))
    }
}
