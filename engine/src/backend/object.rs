//! [`Backend`] over any `object_store::ObjectStore`.

use super::{AsyncBridge, Backend, FileKind};
use crate::error::{Error, Result};
use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use std::future::Future;
use std::ops::Range;
use std::sync::Arc;

/// A backend over an object store, with its own small Tokio runtime.
pub struct ObjectBackend {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    location: String,
    concurrency: usize,
    /// See [`Backend::max_range_read`].
    max_range_read: u64,
    bridge: AsyncBridge,
}

impl std::fmt::Debug for ObjectBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ObjectBackend({})", self.location)
    }
}

impl ObjectBackend {
    /// Wraps a store; `prefix` is the repository root inside it.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str, location: String) -> Result<Self> {
        Ok(ObjectBackend {
            store,
            prefix: prefix.trim_matches('/').to_string(),
            location,
            // Local disks and memory gain nothing from more uploaders, and
            // each holds a pack in memory.
            concurrency: 1,
            max_range_read: 2 << 20,
            bridge: AsyncBridge::new(2)?,
        })
    }

    /// A repository in memory (for tests and examples).
    pub fn memory() -> Result<Self> {
        Self::new(
            Arc::new(object_store::memory::InMemory::new()),
            "",
            "memory".into(),
        )
    }

    /// A repository at `s3://bucket/prefix`.
    #[cfg(feature = "s3")]
    pub fn s3(url: &str, opts: &super::S3Options) -> Result<Self> {
        let (bucket, prefix) = super::parse_s3_url(url)?;
        let store = super::s3_store(&bucket, opts)?;
        let mut b = Self::new(store, &prefix, url.to_string())?;
        b.concurrency = opts.concurrency.max(1);
        // Per-request latency weighs more than a few MiB per read thread.
        b.max_range_read = 8 << 20;
        b.bridge = AsyncBridge::new(4)?;
        Ok(b)
    }

    fn path(&self, kind: FileKind, name: &str) -> Path {
        let rel = kind.path(name);
        if self.prefix.is_empty() {
            Path::from(rel)
        } else {
            Path::from(format!("{}/{rel}", self.prefix))
        }
    }

    fn run<T: Send + 'static>(&self, fut: impl Future<Output = T> + Send + 'static) -> Result<T> {
        self.bridge.run(fut)
    }
}

use super::local::is_object_name;
use super::transient::is_transient;

impl ObjectBackend {
    /// Everything under a kind's directory, objects and temporaries alike.
    fn list_all(&self, kind: FileKind) -> Result<Vec<super::ObjectInfo>> {
        let store = self.store.clone();
        let dir = if self.prefix.is_empty() {
            kind.dir().to_string()
        } else {
            format!("{}/{}", self.prefix, kind.dir())
        };
        let metas = self
            .run(async move {
                let prefix = Path::from(dir);
                store.list(Some(&prefix)).try_collect::<Vec<_>>().await
            })?
            .map_err(|e| map_err(e, "list", kind, ""))?;
        Ok(metas
            .into_iter()
            .filter_map(|m| {
                Some(super::ObjectInfo {
                    name: m.location.filename()?.to_string(),
                    size: m.size,
                    modified_ns: m.last_modified.timestamp_nanos_opt().unwrap_or(0),
                })
            })
            .collect())
    }
}

fn map_err(e: object_store::Error, op: &str, kind: FileKind, name: &str) -> Error {
    match e {
        object_store::Error::NotFound { .. } => Error::NotFound {
            kind: kind.name().into(),
            name: name.into(),
        },
        object_store::Error::AlreadyExists { .. } => Error::AlreadyExists {
            kind: kind.name().into(),
            name: name.into(),
        },
        object_store::Error::Generic { source, .. } if is_transient(source.as_ref()) => {
            Error::unavailable(format!("{op} {} {name}", kind.name()), source)
        }
        other => Error::backend(format!("{op} {} {name}", kind.name()), other),
    }
}

impl Backend for ObjectBackend {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn create(&self, kind: FileKind, name: &str, data: Bytes) -> Result<()> {
        self.create_parts(kind, name, vec![data])
    }

    fn create_parts(&self, kind: FileKind, name: &str, parts: Vec<Bytes>) -> Result<()> {
        let (store, path) = (self.store.clone(), self.path(kind, name));
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        let payload: PutPayload = parts.into_iter().collect();
        self.run(async move { store.put_opts(&path, payload, opts).await })?
            .map(|_| ())
            .map_err(|e| map_err(e, "write", kind, name))
    }

    fn read(&self, kind: FileKind, name: &str) -> Result<Bytes> {
        let (store, path) = (self.store.clone(), self.path(kind, name));
        self.run(async move { store.get(&path).await?.bytes().await })?
            .map_err(|e| map_err(e, "read", kind, name))
    }

    fn read_range(&self, kind: FileKind, name: &str, range: Range<u64>) -> Result<Bytes> {
        let (store, path) = (self.store.clone(), self.path(kind, name));
        let want = range.end.saturating_sub(range.start);
        let r = range.clone();
        let bytes = self
            .run(async move { store.get_range(&path, r).await })?
            .map_err(|e| map_err(e, "read", kind, name))?;
        if bytes.len() as u64 != want {
            return Err(Error::corrupt(
                format!("{} {name}", kind.name()),
                format!(
                    "short read: wanted {want} bytes at {}, got {}",
                    range.start,
                    bytes.len()
                ),
            ));
        }
        Ok(bytes)
    }

    fn list_info(&self, kind: FileKind) -> Result<Vec<super::ObjectInfo>> {
        Ok(self
            .list_all(kind)?
            .into_iter()
            .filter(|o| is_object_name(&o.name))
            .collect())
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn max_range_read(&self) -> u64 {
        self.max_range_read
    }

    fn size(&self, kind: FileKind, name: &str) -> Result<u64> {
        let (store, path) = (self.store.clone(), self.path(kind, name));
        self.run(async move { store.head(&path).await })?
            .map(|m| m.size)
            .map_err(|e| map_err(e, "stat", kind, name))
    }

    fn delete(&self, kind: FileKind, name: &str) -> Result<()> {
        let (store, path) = (self.store.clone(), self.path(kind, name));
        match self.run(async move { store.delete(&path).await })? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(map_err(e, "delete", kind, name)),
        }
    }
}
