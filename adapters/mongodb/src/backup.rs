//! Reading a server: its databases, each selected collection's metadata,
//! then its documents in `_id` order (a capped collection's in natural
//! order), all at one cluster time when the
//! server can serve snapshot reads.

use crate::client::{command, connect, failed, server_info, ServerInfo};
use crate::index::{data_path, meta_path, Index, Stored, FORMAT, INDEX_STREAM};
use crate::meta::Meta;
use crate::select::Selection;
use crate::stream::{CursorReader, Tally};
use bson::{doc, Document, RawDocumentBuf};
use cairn::{Error, Result, StreamSource};
use mongodb::sync::{Client, ClientSession};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

/// The chunking profile of the document streams: `documents` (512 B /
/// 2 KiB / 8 KiB, measured in `docs/performance.md`), or `database` in a
/// repository made before that profile existed.
pub fn profile_for(repo: &cairn::Repository) -> &'static str {
    match repo
        .config()
        .profiles
        .contains_key(cairn::PROFILE_DOCUMENTS)
    {
        true => cairn::PROFILE_DOCUMENTS,
        false => cairn::PROFILE_DATABASE,
    }
}
/// Documents asked for per batch (the server caps a batch at 16 MiB).
pub const DEFAULT_BATCH: u32 = 1000;

/// What a backup reads.
#[derive(Clone, Debug)]
pub struct BackupOptions {
    /// The connection string.
    pub uri: String,
    /// Which collections.
    pub selection: Selection,
    /// Read every collection at one cluster time (a snapshot read
    /// concern); refused by a standalone server. When false, each
    /// collection is read at its own time.
    pub snapshot: bool,
    /// Documents per batch.
    pub batch: u32,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            uri: crate::client::DEFAULT_URI.into(),
            selection: Selection::default(),
            snapshot: true,
            batch: DEFAULT_BATCH,
        }
    }
}

/// One collection to read.
pub struct Listed {
    /// Its database.
    pub db: String,
    /// Its metadata.
    pub meta: Meta,
}

fn cursor_docs(client: &Client, db: &str, cmd: Document) -> Result<Vec<Document>> {
    let name = cmd.keys().next().cloned().unwrap_or_default();
    let cursor = client
        .database(db)
        .run_cursor_command(cmd)
        .run()
        .map_err(|e| failed(&name, e))?;
    cursor
        .map(|d| d.map_err(|e| failed(&name, e)))
        .collect::<Result<Vec<_>>>()
}

/// The selected collections, in database and name order.
pub fn list(client: &Client, sel: &Selection) -> Result<Vec<Listed>> {
    let dbs = client
        .list_database_names()
        .run()
        .map_err(|e| failed("listDatabases", e))?;
    let mut out = Vec::new();
    for db in dbs.iter().filter(|d| sel.wants_db(d)) {
        let mut entries = cursor_docs(client, db, doc! { "listCollections": 1 })?;
        entries.sort_by(|a, b| a.get_str("name").ok().cmp(&b.get_str("name").ok()));
        for e in entries {
            let name = e.get_str("name").unwrap_or_default();
            if !sel.wants(db, name) {
                continue;
            }
            let kind = e.get_str("type").unwrap_or("collection");
            if kind == "timeseries" {
                return Err(Error::invalid(format!(
                    "{db}.{name} is a time-series collection, which cairn does not back up yet: \
                     leave it out (exclude_collections = [\"{db}.{name}\"]) and dump it with \
                     mongodump"
                )));
            }
            let indexes = match kind {
                "view" => Vec::new(),
                _ => cursor_docs(client, db, doc! { "listIndexes": name })?,
            };
            out.push(Listed {
                db: db.clone(),
                meta: Meta::from_listing(&e, indexes)?,
            });
        }
    }
    Ok(out)
}

/// A `seconds.increment` cluster time.
fn time_text(t: bson::Timestamp) -> String {
    format!("{}.{}", t.time, t.increment)
}

/// Starts the session every find runs in: with `snapshot`, pinned to the
/// cluster time the server answers a `ping` with, so that every
/// collection is read as it was at that moment.
fn session(
    client: &Client,
    info: &ServerInfo,
    o: &BackupOptions,
) -> Result<(ClientSession, Option<String>)> {
    if !o.snapshot {
        let s = client
            .start_session()
            .run()
            .map_err(|e| failed("startSession", e))?;
        return Ok((s, None));
    }
    if !info.snapshots() {
        return Err(Error::invalid(
            "this MongoDB server is a standalone, which cannot serve snapshot reads (they need \
             a replica set or a sharded cluster, MongoDB 5.0 or newer): back it up with \
             `snapshot = false` (--no-snapshot), each collection then read at its own time",
        ));
    }
    let ping = command(client, "admin", doc! { "ping": 1 })?;
    let at = ping
        .get_timestamp("operationTime")
        .map_err(|_| Error::Source {
            name: "mongodb ping".into(),
            detail: "the reply carries no operationTime to read a snapshot at".into(),
        })?;
    let s = client
        .start_session()
        .snapshot(true)
        .snapshot_time(at)
        .run()
        .map_err(|e| failed("startSession", e))?;
    Ok((s, Some(time_text(at))))
}

/// Everything a capture needs: the streams (each collection's metadata,
/// then its documents, opened one after another; the index last) and the
/// facts.
pub struct Read {
    /// The streams, in order.
    pub streams: Vec<StreamSource>,
    /// The server.
    pub server: ServerInfo,
    /// The snapshot's cluster time.
    pub at: Option<String>,
    /// Collections and views.
    pub listed: usize,
}

fn data_stream(
    client: &Client,
    l: &Listed,
    session: &Arc<Mutex<ClientSession>>,
    batch: u32,
    tally: &Tally,
    cancel: &Arc<AtomicBool>,
    profile: &'static str,
) -> StreamSource {
    let coll = client
        .database(&l.db)
        .collection::<RawDocumentBuf>(&l.meta.name);
    let (session, tally, cancel) = (session.clone(), tally.clone(), cancel.clone());
    let (db, name, kind) = (l.db.clone(), l.meta.name.clone(), l.meta.kind.clone());
    let capped = l.meta.options.get_bool("capped").unwrap_or(false);
    StreamSource::lazy(data_path(&l.db, &l.meta.name), move || {
        let mut s = session
            .lock()
            .map_err(|_| Error::internal("session lock poisoned"))?;
        // A capped collection's natural order is its meaning (oldest
        // first, as it will age out); every other is read in _id order.
        let find = coll.find(doc! {}).batch_size(batch);
        let find = match capped {
            true => find.hint(mongodb::options::Hint::Keys(doc! { "$natural": 1 })),
            false => find.sort(doc! { "_id": 1 }),
        };
        let cursor = find
            .session(&mut *s)
            .run()
            .map_err(|e| failed(&format!("find on {db}.{name}"), e))?;
        drop(s);
        let r = CursorReader::new(cursor, session, (&db, &name, &kind), tally, cancel);
        Ok(Box::new(r) as Box<dyn std::io::Read + Send>)
    })
    .with_profile(profile)
}

/// Lists the server and prepares the streams.
pub fn read_server(
    o: &BackupOptions,
    profile: &'static str,
    cancel: &Arc<AtomicBool>,
) -> Result<Read> {
    let client = connect(&o.uri)?;
    let server = server_info(&client)?;
    let listed = list(&client, &o.selection)?;
    let (session, at) = session(&client, &server, o)?;
    let session = Arc::new(Mutex::new(session));
    let tally: Tally = Arc::default();
    let mut streams = Vec::new();
    for l in &listed {
        let meta = l.meta.to_json().into_bytes();
        streams.push(StreamSource::from_reader(
            meta_path(&l.db, &l.meta.name),
            std::io::Cursor::new(meta),
        ));
        if l.meta.has_documents() {
            streams.push(data_stream(
                &client, l, &session, o.batch, &tally, cancel, profile,
            ));
        }
    }
    let order: Vec<(String, String, String)> = listed
        .iter()
        .map(|l| (l.db.clone(), l.meta.name.clone(), l.meta.kind.clone()))
        .collect();
    let index = Index {
        format: FORMAT,
        source: "server".into(),
        server_version: server.version.clone(),
        replica_set: server.replica_set.clone(),
        consistency: if at.is_some() { "snapshot" } else { "none" }.into(),
        at_cluster_time: at.clone(),
        collections: Vec::new(),
    };
    streams.push(StreamSource::lazy(INDEX_STREAM, move || {
        let t = tally
            .lock()
            .map_err(|_| Error::internal("tally poisoned"))?;
        let mut index = index;
        index.collections = finished(&order, &t)?;
        Ok(Box::new(std::io::Cursor::new(index.to_bytes())) as Box<dyn std::io::Read + Send>)
    }));
    Ok(Read {
        streams,
        server,
        at,
        listed: listed.len(),
    })
}

/// The totals of every listed collection in listing order (a view has
/// none).
fn finished(
    order: &[(String, String, String)],
    tally: &BTreeMap<String, Stored>,
) -> Result<Vec<Stored>> {
    order
        .iter()
        .map(|(db, coll, kind)| match kind.as_str() {
            "view" => Ok(crate::counter::Counter::default().stored(db, coll, kind)),
            _ => tally
                .get(&format!("{db}.{coll}"))
                .cloned()
                .ok_or_else(|| Error::internal(format!("{db}.{coll} was not read to its end"))),
        })
        .collect()
}
