//! Restoring into a live server: each collection created with its
//! options, its documents inserted in batches, then its indexes built;
//! views last, once what they read exists.

use crate::client::{code, connect, failed};
use crate::index::{Index, Stored};
use crate::meta::Meta;
use crate::rename::{target, Rename};
use crate::select::Selection;
use crate::stored::{each_doc, read_meta};
use bson::{doc, Bson, Document, RawDocumentBuf};
use cairn::{Error, Repository, Result, SnapshotId};
use mongodb::sync::{Client, Collection};

/// Documents per insert.
pub const BATCH_DOCS: usize = 1000;
/// Bytes per insert.
pub const BATCH_BYTES: usize = 8 * 1024 * 1024;
const NAMESPACE_EXISTS: i32 = 48;

/// What a restore does.
#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    /// The connection string (default: the backup's).
    pub uri: String,
    /// Which stored collections (by their stored names).
    pub selection: Selection,
    /// Drop each target collection first.
    pub drop: bool,
    /// Renaming rules.
    pub rename: Vec<Rename>,
    /// Leave the indexes out (only `_id`'s is built).
    pub no_indexes: bool,
}

/// What a restore did to one collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    /// Stored name.
    pub from: String,
    /// Target database.
    pub db: String,
    /// Target collection.
    pub collection: String,
    /// Documents inserted.
    pub docs: u64,
    /// Indexes built (not counting `_id`'s).
    pub indexes: usize,
    /// Whether it already existed (its documents were added).
    pub existed: bool,
}

/// Whether a stored collection can only be restored by mongorestore: the
/// oplog of `mongodump --oplog`, and `system.*` collections (users, roles)
/// of an archive backup.
pub fn needs_mongorestore(c: &Stored) -> bool {
    c.kind == "oplog" || c.collection.starts_with("system.")
}

/// The stored collections a restore takes: collections first, views last.
pub fn picked<'a>(index: &'a Index, sel: &Selection) -> Vec<&'a Stored> {
    let mut out: Vec<&Stored> = index
        .collections
        .iter()
        .filter(|c| !needs_mongorestore(c) && sel.takes(&c.db, &c.collection))
        .collect();
    out.sort_by_key(|c| c.kind == "view");
    out
}

fn create(client: &Client, db: &str, coll: &str, m: &Meta) -> Result<bool> {
    let mut cmd = doc! { "create": coll };
    for (k, v) in &m.options {
        cmd.insert(k.clone(), v.clone());
    }
    match client.database(db).run_command(cmd).run() {
        Ok(_) => Ok(false),
        Err(e) if code(&e) == Some(NAMESPACE_EXISTS) => Ok(true),
        Err(e) => Err(failed(&format!("create {db}.{coll}"), e)),
    }
}

fn insert(coll: &Collection<RawDocumentBuf>, batch: &mut Vec<RawDocumentBuf>) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    coll.insert_many(batch.iter())
        .run()
        .map_err(|e| failed(&format!("insert into {}", coll.namespace()), e))?;
    batch.clear();
    Ok(())
}

fn build_indexes(client: &Client, db: &str, coll: &str, m: &Meta) -> Result<usize> {
    let specs: Vec<Bson> = m
        .indexes
        .iter()
        .filter(|i| i.get_str("name").ok() != Some("_id_"))
        .map(|i| {
            let mut i: Document = i.clone();
            i.remove("ns");
            Bson::Document(i)
        })
        .collect();
    if specs.is_empty() {
        return Ok(0);
    }
    let n = specs.len();
    client
        .database(db)
        .run_command(doc! { "createIndexes": coll, "indexes": specs })
        .run()
        .map_err(|e| failed(&format!("createIndexes on {db}.{coll}"), e))?;
    Ok(n)
}

/// Restores one stored collection.
fn one(
    client: &Client,
    repo: &Repository,
    id: &SnapshotId,
    c: &Stored,
    o: &RestoreOptions,
) -> Result<Restored> {
    let meta = read_meta(repo, id, c)?;
    let (db, name) = target(&o.rename, &c.db, &c.collection)?;
    let coll = client.database(&db).collection::<RawDocumentBuf>(&name);
    if o.drop {
        coll.drop()
            .run()
            .map_err(|e| failed(&format!("drop {db}.{name}"), e))?;
    }
    let existed = create(client, &db, &name, &meta)?;
    let (mut batch, mut bytes) = (Vec::new(), 0usize);
    let counter = each_doc(repo, id, c, |d| {
        bytes += d.len();
        batch.push(RawDocumentBuf::from_bytes(d).map_err(|e| Error::corrupt(c.ns(), e))?);
        if batch.len() >= BATCH_DOCS || bytes >= BATCH_BYTES {
            bytes = 0;
            insert(&coll, &mut batch)?;
        }
        Ok(())
    })?;
    insert(&coll, &mut batch)?;
    let indexes = match o.no_indexes || !meta.has_documents() {
        true => 0,
        false => build_indexes(client, &db, &name, &meta)?,
    };
    Ok(Restored {
        from: c.ns(),
        db,
        collection: name,
        docs: counter.docs(),
        indexes,
        existed,
    })
}

/// Restores what `o` picks from a snapshot.
pub fn restore(
    repo: &Repository,
    id: &SnapshotId,
    index: &Index,
    o: &RestoreOptions,
    log: &dyn Fn(&Restored),
) -> Result<Vec<Restored>> {
    let picked = picked(index, &o.selection);
    if picked.is_empty() {
        return Err(Error::invalid(format!(
            "nothing to restore: no collection of snapshot {} matches the selection",
            id.short()
        )));
    }
    let client = connect(&o.uri)?;
    let mut done = Vec::new();
    for c in picked {
        let r = one(&client, repo, id, c, o)?;
        log(&r);
        done.push(r);
    }
    Ok(done)
}
