//! Backing up an existing mongodump archive (`mongodump --archive`, its
//! collections possibly interleaved): it is parsed and checked whole, each
//! collection spooled to its own file, then stored as the same streams a
//! backup through the driver writes.
//!
//! A spool file is open for writing only between a collection's first
//! document and its EOF (mongodump interleaves a few collections at a
//! time), and for reading only while its stream is stored: an archive of
//! thousands of collections needs a handful of descriptors, not thousands.
//! Every spool file is removed once its stream opened it, or when the
//! backup ends, whichever comes first.

use crate::archive::{read, Prelude, Sink};
use crate::counter::Counter;
use crate::index::{data_path, meta_path, Index, FORMAT, INDEX_STREAM};
use crate::meta::Meta;
use crate::select::Selection;
use bson::Document;
use cairn::{Error, Result, StreamSource};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Whether a prelude entry is mongodump's oplog (`--oplog`).
pub fn is_oplog(db: &str, coll: &str) -> bool {
    db.is_empty() && coll == "oplog"
}

/// Spool files not yet removed; removed when the last holder goes.
#[derive(Default)]
struct Leftovers(Mutex<Vec<PathBuf>>);

impl Leftovers {
    fn add(&self, p: &Path) {
        if let Ok(mut v) = self.0.lock() {
            v.push(p.to_path_buf());
        }
    }

    fn remove(&self, p: &Path) {
        let _ = std::fs::remove_file(p);
        if let Ok(mut v) = self.0.lock() {
            v.retain(|x| x != p);
        }
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        if let Ok(v) = self.0.lock() {
            for p in v.iter() {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// One collection's spool.
struct Spooled {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    counter: Counter,
}

impl Spooled {
    fn close(&mut self) -> Result<()> {
        if let Some(w) = self.writer.take() {
            w.into_inner()
                .map_err(|e| Error::io(&self.path, e.into_error()))?;
        }
        Ok(())
    }
}

struct Spool {
    dir: PathBuf,
    selection: Selection,
    prelude: Option<Prelude>,
    files: BTreeMap<String, Spooled>,
    leftovers: Arc<Leftovers>,
}

impl Sink for Spool {
    fn prelude(&mut self, p: &Prelude) -> Result<()> {
        for (n, e) in p.entries.iter().enumerate() {
            if !is_oplog(&e.db, &e.collection) && !self.selection.takes(&e.db, &e.collection) {
                continue;
            }
            let name = format!("cairn-mongo-spool-{}-{n}", std::process::id());
            let s = Spooled {
                path: self.dir.join(name),
                writer: None,
                counter: Counter::default(),
            };
            self.files.insert(e.ns(), s);
        }
        self.prelude = Some(p.clone());
        Ok(())
    }

    fn doc(&mut self, ns: &str, bytes: &[u8]) -> Result<()> {
        let Some(s) = self.files.get_mut(ns) else {
            return Ok(());
        };
        let w = match &mut s.writer {
            Some(w) => w,
            None => {
                let f = File::create(&s.path).map_err(|e| Error::io(&s.path, e))?;
                self.leftovers.add(&s.path);
                s.writer.insert(BufWriter::new(f))
            }
        };
        w.write_all(bytes).map_err(|e| Error::io(&s.path, e))?;
        s.counter.add(bytes);
        Ok(())
    }

    fn end(&mut self, ns: &str) -> Result<()> {
        match self.files.get_mut(ns) {
            Some(s) => s.close(),
            None => Ok(()),
        }
    }
}

/// What a read archive became.
pub struct Imported {
    /// The streams.
    pub streams: Vec<StreamSource>,
    /// Its index.
    pub index: Index,
}

fn meta_of(e: &crate::archive::Entry) -> Result<Meta> {
    if e.metadata.is_empty() {
        return Ok(Meta {
            name: e.collection.clone(),
            kind: if is_oplog(&e.db, &e.collection) {
                "oplog"
            } else {
                "collection"
            }
            .into(),
            options: Document::new(),
            indexes: Vec::new(),
            uuid: None,
        });
    }
    Meta::parse(
        &e.metadata,
        &format!("the archive's metadata of {}", e.ns()),
    )
}

/// A damaged archive being backed up is bad input, not a damaged
/// repository: named as the source it is.
fn damaged_input(e: Error) -> Error {
    match e {
        Error::Corrupt { what, detail } => Error::Source {
            name: format!("mongodump archive {what}"),
            detail: format!("{detail} (the archive is damaged or cut short; nothing was stored)"),
        },
        other => other,
    }
}

/// The stream of a spooled collection's documents, opened (and its spool
/// file removed) when it is stored.
fn data_stream(
    name: String,
    s: &Spooled,
    leftovers: &Arc<Leftovers>,
    profile: &'static str,
) -> StreamSource {
    let (path, empty, leftovers) = (s.path.clone(), s.counter.docs() == 0, leftovers.clone());
    StreamSource::lazy(name, move || {
        if empty {
            return Ok(Box::new(std::io::empty()) as Box<dyn Read + Send>);
        }
        let f = File::open(&path).map_err(|e| Error::io(&path, e))?;
        leftovers.remove(&path);
        Ok(Box::new(std::io::BufReader::new(f)) as Box<dyn Read + Send>)
    })
    .with_profile(profile)
}

/// Reads a whole archive from `input`, spooling under `dir`.
pub fn import(
    input: impl Read,
    what: &str,
    dir: &Path,
    sel: &Selection,
    profile: &'static str,
) -> Result<Imported> {
    let leftovers = Arc::new(Leftovers::default());
    let mut spool = Spool {
        dir: dir.to_path_buf(),
        selection: sel.clone(),
        prelude: None,
        files: BTreeMap::new(),
        leftovers: leftovers.clone(),
    };
    read(input, what, &mut spool).map_err(damaged_input)?;
    let prelude = spool
        .prelude
        .take()
        .ok_or_else(|| Error::internal("archive read without a prelude"))?;
    let mut streams = Vec::new();
    let mut collections = Vec::new();
    for e in &prelude.entries {
        let Some(s) = spool.files.get_mut(&e.ns()) else {
            continue;
        };
        s.close()?;
        let meta = meta_of(e)?;
        let kind = match meta.kind.as_str() {
            "" => "collection".to_string(),
            k => k.to_string(),
        };
        streams.push(StreamSource::from_reader(
            meta_path(&e.db, &e.collection),
            std::io::Cursor::new(meta.to_json().into_bytes()),
        ));
        if kind != "view" {
            let name = data_path(&e.db, &e.collection);
            streams.push(data_stream(name, s, &leftovers, profile));
        }
        collections.push(s.counter.stored(&e.db, &e.collection, &kind));
    }
    let index = Index {
        format: FORMAT,
        source: "archive".into(),
        server_version: prelude.header.server_version.clone(),
        replica_set: None,
        consistency: "archive".into(),
        at_cluster_time: None,
        collections,
    };
    streams.push(StreamSource::from_reader(
        INDEX_STREAM,
        std::io::Cursor::new(index.to_bytes()),
    ));
    Ok(Imported { streams, index })
}
