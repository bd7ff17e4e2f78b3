//! Backing up an existing mongodump archive (`mongodump --archive`, its
//! collections possibly interleaved): it is parsed and checked whole, each
//! collection spooled to its own file, then stored as the same streams a
//! backup through the driver writes.

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

/// Whether a prelude entry is mongodump's oplog (`--oplog`).
pub fn is_oplog(db: &str, coll: &str) -> bool {
    db.is_empty() && coll == "oplog"
}

struct Spool {
    dir: PathBuf,
    selection: Selection,
    prelude: Option<Prelude>,
    files: BTreeMap<String, (PathBuf, BufWriter<File>, Counter)>,
}

impl Spool {
    fn taken(&self, db: &str, coll: &str) -> bool {
        is_oplog(db, coll) || self.selection.takes(db, coll)
    }
}

impl Sink for Spool {
    fn prelude(&mut self, p: &Prelude) -> Result<()> {
        for (n, e) in p.entries.iter().enumerate() {
            if !self.taken(&e.db, &e.collection) {
                continue;
            }
            let path = self
                .dir
                .join(format!("cairn-mongo-spool-{}-{n}", std::process::id()));
            let f = File::create(&path).map_err(|e| Error::io(&path, e))?;
            self.files
                .insert(e.ns(), (path, BufWriter::new(f), Counter::default()));
        }
        self.prelude = Some(p.clone());
        Ok(())
    }

    fn doc(&mut self, ns: &str, bytes: &[u8]) -> Result<()> {
        if let Some((path, w, c)) = self.files.get_mut(ns) {
            w.write_all(bytes).map_err(|e| Error::io(path.clone(), e))?;
            c.add(bytes);
        }
        Ok(())
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        for (path, _, _) in self.files.values() {
            let _ = std::fs::remove_file(path);
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

/// Reads a whole archive from `input`, spooling under `dir`.
pub fn import(
    input: impl Read,
    what: &str,
    dir: &Path,
    sel: &Selection,
    profile: &'static str,
) -> Result<Imported> {
    let mut spool = Spool {
        dir: dir.to_path_buf(),
        selection: sel.clone(),
        prelude: None,
        files: BTreeMap::new(),
    };
    read(input, what, &mut spool).map_err(damaged_input)?;
    let prelude = spool.prelude.take().unwrap_or_else(|| Prelude {
        header: crate::archive::Header {
            concurrent_collections: 0,
            server_version: String::new(),
            tool_version: String::new(),
        },
        entries: Vec::new(),
    });
    let mut streams = Vec::new();
    let mut collections = Vec::new();
    for e in &prelude.entries {
        let Some((path, w, counter)) = spool.files.remove(&e.ns()) else {
            continue;
        };
        let meta = meta_of(e)?;
        let f = w
            .into_inner()
            .map_err(|err| Error::io(&path, err.into_error()))?;
        f.sync_all().map_err(|err| Error::io(&path, err))?;
        let reader = File::open(&path).map_err(|err| Error::io(&path, err))?;
        let _ = std::fs::remove_file(&path);
        let kind = match meta.kind.as_str() {
            "" => "collection".to_string(),
            k => k.to_string(),
        };
        streams.push(StreamSource::from_reader(
            meta_path(&e.db, &e.collection),
            std::io::Cursor::new(meta.to_json().into_bytes()),
        ));
        if kind != "view" {
            streams.push(
                StreamSource::from_reader(data_path(&e.db, &e.collection), reader)
                    .with_profile(profile),
            );
        }
        collections.push(counter.stored(&e.db, &e.collection, &kind));
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
