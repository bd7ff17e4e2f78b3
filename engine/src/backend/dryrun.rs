//! A dry run's storage: every write is kept in memory (packs by name and
//! size only) and nothing reaches the real store, which is only read.
//! `backup --dry-run` runs the real backup over it, so its figures are
//! the ones a real run would report.

use super::{Backend, FileKind, ObjectInfo};
use crate::error::{Error, Result};
use bytes::Bytes;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::{Arc, Mutex};

type Key = (FileKind, String);

/// Writes kept in memory over a store that is only read.
#[derive(Debug)]
pub struct DryRunBackend {
    inner: Arc<dyn Backend>,
    /// Objects written in this run: their bytes, or only the size for packs.
    written: Mutex<HashMap<Key, (u64, Option<Bytes>)>>,
    /// Real objects this run deleted (hidden, never deleted).
    hidden: Mutex<HashSet<Key>>,
}

impl DryRunBackend {
    /// A dry run over `inner`.
    pub fn new(inner: Arc<dyn Backend>) -> Self {
        DryRunBackend {
            inner,
            written: Mutex::new(HashMap::new()),
            hidden: Mutex::new(HashSet::new()),
        }
    }

    /// Bytes of the packs this run would have stored.
    pub fn pack_bytes(&self) -> u64 {
        self.lock_written()
            .iter()
            .filter(|((k, _), _)| *k == FileKind::Pack)
            .map(|(_, (size, _))| size)
            .sum()
    }

    fn lock_written(&self) -> std::sync::MutexGuard<'_, HashMap<Key, (u64, Option<Bytes>)>> {
        self.written.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_hidden(&self, key: &Key) -> bool {
        self.hidden
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(key)
    }

    /// The bytes of an object written in this run, if it was.
    fn own(&self, kind: FileKind, name: &str) -> Option<Result<Bytes>> {
        let w = self.lock_written();
        let (_, bytes) = w.get(&(kind, name.to_string()))?;
        Some(bytes.clone().ok_or_else(|| {
            Error::backend(
                format!("read {} {name}", kind.name()),
                "a dry run keeps no pack data",
            )
        }))
    }

    fn exists(&self, kind: FileKind, name: &str) -> Result<bool> {
        let key = (kind, name.to_string());
        if self.lock_written().contains_key(&key) {
            return Ok(true);
        }
        if self.is_hidden(&key) {
            return Ok(false);
        }
        match self.inner.size(kind, name) {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn not_found(kind: FileKind, name: &str) -> Error {
        Error::NotFound {
            kind: kind.name().into(),
            name: name.into(),
        }
    }
}

impl Backend for DryRunBackend {
    fn location(&self) -> String {
        format!("{} (dry run: nothing is written)", self.inner.location())
    }

    fn create(&self, kind: FileKind, name: &str, data: Bytes) -> Result<()> {
        self.create_parts(kind, name, vec![data])
    }

    fn create_parts(&self, kind: FileKind, name: &str, parts: Vec<Bytes>) -> Result<()> {
        if self.exists(kind, name)? {
            return Err(Error::AlreadyExists {
                kind: kind.name().into(),
                name: name.into(),
            });
        }
        let size = parts.iter().map(|p| p.len() as u64).sum();
        let bytes = (kind != FileKind::Pack).then(|| Bytes::from(parts.concat()));
        self.lock_written()
            .insert((kind, name.to_string()), (size, bytes));
        Ok(())
    }

    fn read(&self, kind: FileKind, name: &str) -> Result<Bytes> {
        if let Some(own) = self.own(kind, name) {
            return own;
        }
        if self.is_hidden(&(kind, name.to_string())) {
            return Err(Self::not_found(kind, name));
        }
        self.inner.read(kind, name)
    }

    fn read_range(&self, kind: FileKind, name: &str, range: Range<u64>) -> Result<Bytes> {
        if let Some(own) = self.own(kind, name) {
            let b = own?;
            let (s, e) = (range.start as usize, range.end as usize);
            if s > e || e > b.len() {
                return Err(Error::backend(
                    format!("read {} {name}", kind.name()),
                    format!("range {range:?} past the end ({} bytes)", b.len()),
                ));
            }
            return Ok(b.slice(s..e));
        }
        if self.is_hidden(&(kind, name.to_string())) {
            return Err(Self::not_found(kind, name));
        }
        self.inner.read_range(kind, name, range)
    }

    fn list_info(&self, kind: FileKind) -> Result<Vec<ObjectInfo>> {
        let mut out: Vec<ObjectInfo> = self
            .inner
            .list_info(kind)?
            .into_iter()
            .filter(|o| !self.is_hidden(&(kind, o.name.clone())))
            .collect();
        let now = crate::snapshot::now_ns();
        for ((k, name), (size, _)) in self.lock_written().iter() {
            if *k == kind {
                out.push(ObjectInfo {
                    name: name.clone(),
                    size: *size,
                    modified_ns: now,
                });
            }
        }
        Ok(out)
    }

    fn size(&self, kind: FileKind, name: &str) -> Result<u64> {
        let key = (kind, name.to_string());
        if let Some((size, _)) = self.lock_written().get(&key) {
            return Ok(*size);
        }
        if self.is_hidden(&key) {
            return Err(Self::not_found(kind, name));
        }
        self.inner.size(kind, name)
    }

    fn delete(&self, kind: FileKind, name: &str) -> Result<()> {
        let key = (kind, name.to_string());
        if self.lock_written().remove(&key).is_none() {
            self.hidden
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key);
        }
        Ok(())
    }

    fn concurrency(&self) -> usize {
        self.inner.concurrency()
    }

    fn max_range_read(&self) -> u64 {
        self.inner.max_range_read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ObjectBackend;

    #[test]
    fn writes_and_deletes_never_reach_the_store() {
        let name = |n: u64| format!("{n:064x}");
        let (old, new, pack) = (name(1), name(2), name(3));
        let real: Arc<dyn Backend> = Arc::new(ObjectBackend::memory().expect("memory"));
        real.create(FileKind::Snapshot, &old, Bytes::from_static(b"x"))
            .expect("seed");
        let dry = DryRunBackend::new(real.clone());
        dry.create(FileKind::Snapshot, &new, Bytes::from_static(b"yz"))
            .expect("create");
        dry.create_parts(FileKind::Pack, &pack, vec![Bytes::from_static(b"123")])
            .expect("pack");
        assert!(dry
            .create(FileKind::Snapshot, &old, Bytes::from_static(b"x"))
            .is_err());
        dry.delete(FileKind::Snapshot, &old).expect("delete");
        let names: Vec<String> = dry
            .list(FileKind::Snapshot)
            .expect("list")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, vec![new.clone()]);
        assert_eq!(dry.read(FileKind::Snapshot, &new).expect("read"), "yz");
        assert!(dry
            .read(FileKind::Snapshot, &old)
            .expect_err("hidden")
            .is_not_found());
        assert!(dry.read(FileKind::Pack, &pack).is_err());
        assert_eq!(dry.pack_bytes(), 3);
        // The real store is as it was.
        assert_eq!(real.list(FileKind::Snapshot).expect("list").len(), 1);
        assert!(real.list(FileKind::Pack).expect("list").is_empty());
    }
}
