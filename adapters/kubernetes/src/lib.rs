//! Kubernetes adapter for cairn.
//!
//! Backup talks to the API server through the `kube` crate (a kubeconfig
//! or the in-cluster service account): discovery of every served group at
//! its preferred version, then a paged list (`limit`, `continue`) of every
//! resource type that supports `list`, narrowed by namespaces, kinds, API
//! groups and a label selector. What must never be restored (nodes,
//! events, completed pods and jobs, Velero's own objects, ...) is skipped;
//! what the server added (`uid`, `resourceVersion`, `managedFields`,
//! `status`, a Service's cluster IPs and node ports, a claim's volume
//! binding, ...) is removed. Each object is stored as one stream,
//! `kubernetes/GROUP/VERSION/KIND/NAMESPACE/NAME.json`, in a canonical
//! serialisation, so an unchanged object deduplicates completely; an index
//! stream records each list's `resourceVersion`.
//!
//! Restore applies the objects with server-side apply in a safe order
//! (CRDs, waited for until Established, then namespaces, storage,
//! identities, secrets and configuration, then the rest), or prints the
//! order (dry run), or writes YAML files for `kubectl apply -f`.

mod api;
mod backup;
mod clean;
mod component;
mod index;
mod object;
mod order;
mod restore;
mod select;
mod skip;
mod stored;

pub use api::{Cluster, Connection, Resource, FIELD_MANAGER};
pub use backup::{read_cluster, BackupOptions, Read, DEFAULT_PAGE_SIZE};
pub use clean::clean;
pub use component::{from_settings, KubernetesComponent, RestoreMode};
pub use index::{Index, Listed, INDEX_STREAM};
pub use object::{canonical, ObjectKey, CLUSTER_SCOPE, OBJECT_PREFIX};
pub use order::PRIORITY;
pub use restore::{RestoreOptions, DEFAULT_WAIT};
pub use select::Selection;
pub use skip::NEVER;
