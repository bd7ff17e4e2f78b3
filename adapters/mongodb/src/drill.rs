//! A restore drill: the snapshot restored into scratch databases
//! (`cairn_drill_<db>`) on a server, each collection compared with the
//! index by document count and an order-free hash, the scratch databases
//! dropped afterwards; or, with no drill server, an archive written and
//! read back.

use crate::archive::{read, DocCount};
use crate::client::{connect, failed};
use crate::counter::{set_hex, set_part};
use crate::index::Index;
use crate::rename::Rename;
use crate::restore::{restore, RestoreOptions};
use crate::select::Selection;
use bson::{doc, RawDocumentBuf};
use cairn::{Error, Repository, Result, SnapshotId};
use std::collections::BTreeSet;

/// The prefix of a drill's scratch databases.
pub const SCRATCH_PREFIX: &str = "cairn_drill_";

/// (documents, set hash) of a collection on a server.
fn server_totals(client: &mongodb::sync::Client, db: &str, coll: &str) -> Result<(u64, String)> {
    let c = client.database(db).collection::<RawDocumentBuf>(coll);
    let cursor = c
        .find(doc! {})
        .run()
        .map_err(|e| failed(&format!("find on {db}.{coll}"), e))?;
    let (mut n, mut set) = (0u64, 0u128);
    for d in cursor {
        let d = d.map_err(|e| failed(&format!("find on {db}.{coll}"), e))?;
        n += 1;
        set = set.wrapping_add(set_part(d.as_bytes()));
    }
    Ok((n, set_hex(set)))
}

/// Restores into scratch databases on `uri`, compares, drops them;
/// returns one line per collection.
pub fn drill_server(
    repo: &Repository,
    id: &SnapshotId,
    index: &Index,
    uri: &str,
) -> Result<Vec<String>> {
    let client = connect(uri)?;
    let dbs: BTreeSet<&str> = index
        .collections
        .iter()
        .filter(|c| c.kind != "oplog")
        .map(|c| c.db.as_str())
        .collect();
    let existing = client
        .list_database_names()
        .run()
        .map_err(|e| failed("listDatabases", e))?;
    let mut rules = Vec::new();
    for db in &dbs {
        let scratch = format!("{SCRATCH_PREFIX}{db}");
        if existing.contains(&scratch) {
            return Err(Error::invalid(format!(
                "the drill's scratch database {scratch} already exists on {}: drop it \
                 (an earlier drill was interrupted) and run the drill again",
                crate::client::redact(uri)
            )));
        }
        rules.push(Rename::new(&format!("{db}.*"), &format!("{scratch}.*"))?);
    }
    let o = RestoreOptions {
        uri: uri.to_string(),
        selection: Selection {
            databases: dbs.iter().map(|d| d.to_string()).collect(),
            ..Default::default()
        },
        rename: rules,
        ..Default::default()
    };
    let result =
        restore(repo, id, index, &o, &|_| {}).and_then(|done| compare(&client, index, &done));
    for db in &dbs {
        let _ = client
            .database(&format!("{SCRATCH_PREFIX}{db}"))
            .drop()
            .run();
    }
    result
}

fn compare(
    client: &mongodb::sync::Client,
    index: &Index,
    done: &[crate::restore::Restored],
) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for r in done {
        let Some(want) = index.collections.iter().find(|c| c.ns() == r.from) else {
            continue;
        };
        if want.kind == "view" {
            continue;
        }
        let (n, set) = server_totals(client, &r.db, &r.collection)?;
        if n != want.docs || set != want.set_hash {
            return Err(Error::corrupt(
                format!("drill of {}", r.from),
                format!(
                    "the server holds {n} documents (hash {set}) after the restore; the \
                     snapshot has {} (hash {})",
                    want.docs, want.set_hash
                ),
            ));
        }
        lines.push(format!(
            "{}: {n} documents, {} indexes, hashes match",
            r.from, r.indexes
        ));
    }
    Ok(lines)
}

/// Writes the snapshot as an archive at `path` and reads it back: every
/// EOF's CRC checked, every document counted.
pub fn drill_archive(
    repo: &Repository,
    id: &SnapshotId,
    index: &Index,
    path: &std::path::Path,
) -> Result<String> {
    let (colls, docs) =
        crate::dump::write_archive_file(repo, id, index, &Selection::default(), path)?;
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut count = DocCount(0);
    read(
        std::io::BufReader::new(f),
        &path.display().to_string(),
        &mut count,
    )?;
    if count.0 != docs {
        return Err(Error::corrupt(
            path.display().to_string(),
            format!("{} documents read back, {docs} written", count.0),
        ));
    }
    Ok(format!(
        "a mongodump archive of {colls} collections and {docs} documents written and read back \
         (every CRC checked)"
    ))
}
