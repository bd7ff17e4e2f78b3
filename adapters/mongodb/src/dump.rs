//! `cairn dump mongodb`: a snapshot written as a mongodump archive that
//! `mongorestore --archive` reads, collection after collection, each EOF
//! with the CRC mongo-tools computes.

use crate::archive::{Entry, Header, Prelude, Writer};
use crate::index::Index;
use crate::select::Selection;
use crate::stored::{each_doc, read_meta};
use cairn::{Error, Repository, Result, SnapshotId};
use std::io::Write;

/// The tool version an archive's header names.
pub fn tool_version() -> String {
    format!("cairn {}", env!("CARGO_PKG_VERSION"))
}

/// Writes the collections `sel` picks (the oplog of an archive backup
/// too) as an archive into `out`; returns (collections, documents).
pub fn write_archive(
    repo: &Repository,
    id: &SnapshotId,
    index: &Index,
    sel: &Selection,
    out: impl Write,
) -> Result<(usize, u64)> {
    let mut chosen: Vec<&crate::index::Stored> = index
        .collections
        .iter()
        .filter(|c| c.kind == "oplog" || sel.takes(&c.db, &c.collection))
        .collect();
    chosen.sort_by_key(|c| c.kind == "oplog");
    let mut entries = Vec::new();
    for c in &chosen {
        let metadata = match c.kind.as_str() {
            "oplog" => String::new(),
            _ => read_meta(repo, id, c)?.to_json(),
        };
        entries.push(Entry {
            db: c.db.clone(),
            collection: c.collection.clone(),
            metadata,
            size: c.bytes as i64,
            kind: match c.kind.as_str() {
                "view" => "view".into(),
                _ => String::new(),
            },
        });
    }
    let prelude = Prelude {
        header: Header {
            concurrent_collections: 1,
            server_version: index.server_version.clone(),
            tool_version: tool_version(),
        },
        entries,
    };
    let mut w = Writer::start(out, &prelude)?;
    let mut docs = 0;
    for c in &chosen {
        let counter = each_doc(repo, id, c, |d| w.doc(&c.db, &c.collection, &d))?;
        let crc = w.end(&c.db, &c.collection)?;
        if crc != c.crc64 {
            return Err(Error::internal(format!(
                "{}: archive CRC {crc:#x}, the index says {:#x}",
                c.ns(),
                c.crc64
            )));
        }
        docs += counter.docs();
    }
    w.finish()?;
    Ok((chosen.len(), docs))
}

/// [`write_archive`] into the file `path`: written beside it as
/// `PATH.partial`, synced, then renamed, so an interrupted dump never
/// leaves a cut archive under the name mongorestore is given.
pub fn write_archive_file(
    repo: &Repository,
    id: &SnapshotId,
    index: &Index,
    sel: &Selection,
    path: &std::path::Path,
) -> Result<(usize, u64)> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let written = (|| {
        let f = std::fs::File::create(&partial).map_err(|e| Error::io(&partial, e))?;
        let counts = write_archive(repo, id, index, sel, std::io::BufWriter::new(&f))?;
        f.sync_all().map_err(|e| Error::io(&partial, e))?;
        std::fs::rename(&partial, path).map_err(|e| Error::io(path, e))?;
        Ok(counts)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}
