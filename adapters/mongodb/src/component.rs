//! MongoDB as a plan component (`kind = "mongodb"`).

use crate::backup::{profile_for, read_server, BackupOptions, DEFAULT_BATCH};
use crate::client::redact;
use crate::drill::{drill_archive, drill_server};
use crate::import::import;
use crate::index::Index;
use crate::rename::Rename;
use crate::restore::{needs_mongorestore, restore, RestoreOptions};
use crate::select::Selection;
use crate::stored::{each_doc, read_index, read_meta};
use cairn::{Error, Result};
use cairn_plan::{Capture, CaptureCx, Component, Outcome, RestoreCx, Table};
use std::path::PathBuf;
use std::sync::Arc;

/// Where a backup reads from.
#[derive(Clone, Debug)]
pub enum Source {
    /// A server, through the driver.
    Server(BackupOptions),
    /// An existing mongodump archive (`-` for standard input), spooled
    /// under the directory.
    Archive {
        /// The archive.
        path: PathBuf,
        /// The spool directory.
        spool: PathBuf,
        /// Which collections of it.
        selection: Selection,
    },
}

/// Where a restore goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreMode {
    /// Into a server, through the driver.
    Server,
    /// A mongodump archive file, for `mongorestore --archive`.
    Archive(PathBuf),
}

/// One MongoDB deployment (or archive).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MongoComponent {
    /// What a backup reads.
    pub source: Source,
    /// What a restore does.
    pub restore: RestoreOptions,
    /// Where a restore goes.
    pub mode: RestoreMode,
    /// The server a drill restores into (scratch databases); none: the
    /// drill writes an archive and reads it back.
    pub drill_uri: Option<String>,
}

impl MongoComponent {
    /// A component with these options.
    pub fn new(source: Source, restore: RestoreOptions, mode: RestoreMode) -> Self {
        MongoComponent {
            source,
            restore,
            mode,
            drill_uri: None,
        }
    }

    /// Drills restore into scratch databases on this server.
    pub fn drill_on(mut self, uri: Option<String>) -> Self {
        self.drill_uri = uri;
        self
    }
}

fn selection(t: &mut Table) -> Result<Selection> {
    Ok(Selection {
        databases: t.strs("databases")?,
        exclude_databases: t.strs("exclude_databases")?,
        collections: t.strs("collections")?,
        exclude_collections: t.strs("exclude_collections")?,
        exclude_prefixes: t.strs("exclude_collection_prefixes")?,
    })
}

/// Renaming rules from equally long `from` and `to` lists.
pub fn renames(from: &[String], to: &[String]) -> Result<Vec<Rename>> {
    if from.len() != to.len() {
        return Err(Error::invalid(format!(
            "{} ns_from patterns but {} ns_to patterns: give them in pairs",
            from.len(),
            to.len()
        )));
    }
    from.iter()
        .zip(to)
        .map(|(f, t)| Rename::new(f, t))
        .collect()
}

/// `kind = "mongodb"`. Settings: `uri` (default
/// mongodb://127.0.0.1:27017), `databases`, `exclude_databases`,
/// `collections`, `exclude_collections`, `exclude_collection_prefixes`,
/// `snapshot` (default true), `batch_size` (default 1000), or `archive`
/// (a mongodump archive file, `-` for stdin, instead of a server) with
/// `spool_dir`; `drill_uri` (a server for restore drills). Restore: `uri`
/// (default the backup's), `databases`, `collections`,
/// `exclude_collections`, `drop`, `ns_from` and `ns_to`, `no_indexes`,
/// `archive` (write a mongodump archive file instead).
pub fn from_settings(s: &mut Table, r: &mut Table) -> Result<Arc<dyn Component>> {
    let uri = s.str("uri")?;
    let sel = selection(s)?;
    let batch = s.int("batch_size")?.unwrap_or(DEFAULT_BATCH as i64);
    if !(1..=i32::MAX as i64).contains(&batch) {
        return Err(s.error("batch_size must be at least 1"));
    }
    let snapshot = s.bool("snapshot")?.unwrap_or(true);
    let source = match s.str("archive")? {
        Some(a) => {
            if uri.is_some() {
                return Err(s.error("`archive` and `uri` exclude each other"));
            }
            Source::Archive {
                path: PathBuf::from(a),
                spool: s
                    .str("spool_dir")?
                    .map(PathBuf::from)
                    .unwrap_or_else(std::env::temp_dir),
                selection: sel,
            }
        }
        None => Source::Server(BackupOptions {
            uri: uri
                .clone()
                .unwrap_or_else(|| crate::client::DEFAULT_URI.into()),
            selection: sel,
            snapshot,
            batch: batch as u32,
        }),
    };
    let drill_uri = s.str("drill_uri")?;
    let restore = RestoreOptions {
        uri: r
            .str("uri")?
            .or(uri)
            .unwrap_or_else(|| crate::client::DEFAULT_URI.into()),
        selection: selection(r)?,
        drop: r.bool("drop")?.unwrap_or(false),
        rename: renames(&r.strs("ns_from")?, &r.strs("ns_to")?)?,
        no_indexes: r.bool("no_indexes")?.unwrap_or(false),
    };
    let mode = match r.str("archive")? {
        Some(a) => RestoreMode::Archive(PathBuf::from(a)),
        None => RestoreMode::Server,
    };
    Ok(Arc::new(
        MongoComponent::new(source, restore, mode).drill_on(drill_uri),
    ))
}

fn open_archive(path: &PathBuf) -> Result<Box<dyn std::io::Read>> {
    match path.to_str() {
        Some("-") => Ok(Box::new(std::io::stdin().lock())),
        _ => Ok(Box::new(std::io::BufReader::new(
            std::fs::File::open(path).map_err(|e| Error::io(path, e))?,
        ))),
    }
}

impl Component for MongoComponent {
    fn kind(&self) -> &'static str {
        "mongodb"
    }

    fn describe(&self) -> String {
        match &self.source {
            Source::Server(o) => {
                format!("MongoDB {} on {}", o.selection.describe(), redact(&o.uri))
            }
            Source::Archive { path, .. } => {
                format!("the mongodump archive {}", path.display())
            }
        }
    }

    fn capture(&self, cx: &CaptureCx<'_>) -> Result<Capture> {
        match &self.source {
            Source::Server(o) => {
                let read = read_server(o, profile_for(cx.repo), &cx.cancel)?;
                let mut c = Capture::streams(read.streams)
                    .consistency(match &read.at {
                        Some(t) => format!(
                            "every collection read at cluster time {t} (snapshot read concern)"
                        ),
                        None => "each collection read at its own time (no snapshot)".into(),
                    })
                    .info("mongodb", "server", &read.server.version)
                    .info("mongodb", "collections", read.listed.to_string());
                if let Some(rs) = &read.server.replica_set {
                    c = c.info("mongodb", "replica_set", rs);
                }
                if let Some(t) = read.at {
                    c.marker.insert("mongodb.at_cluster_time".into(), t);
                }
                Ok(c)
            }
            Source::Archive {
                path,
                spool,
                selection,
            } => {
                let input = open_archive(path)?;
                let what = path.display().to_string();
                let im = import(input, &what, spool, selection, profile_for(cx.repo))?;
                Ok(Capture::streams(im.streams)
                    .consistency("as mongodump read it (with --oplog, up to its oplog's end)")
                    .info("mongodb", "server", &im.index.server_version)
                    .info(
                        "mongodb",
                        "collections",
                        im.index.collections.len().to_string(),
                    )
                    .info("mongodb", "documents", im.index.docs().to_string())
                    .info("mongodb", "source", "archive"))
            }
        }
    }

    fn restore_target(&self) -> String {
        match &self.mode {
            RestoreMode::Server => format!(
                "MongoDB on {}{}",
                redact(&self.restore.uri),
                if self.restore.drop {
                    ", each collection dropped first"
                } else {
                    ""
                }
            ),
            RestoreMode::Archive(p) => {
                format!(
                    "the mongodump archive {} (for mongorestore --archive)",
                    p.display()
                )
            }
        }
    }

    fn restore(&self, cx: &RestoreCx<'_>) -> Result<Outcome> {
        let index = read_index(cx.repo, &cx.id, cx.snapshot)?;
        match &self.mode {
            RestoreMode::Archive(p) => {
                if p.as_os_str() == "-" {
                    return Err(Error::invalid(
                        "the archive goes to a file (mongorestore --archive=FILE reads it), not \
                         to standard output",
                    ));
                }
                let (colls, docs) = crate::dump::write_archive_file(
                    cx.repo,
                    &cx.id,
                    &index,
                    &self.restore.selection,
                    p,
                )?;
                Ok(outcome(
                    format!(
                        "wrote {colls} collections, {docs} documents to {}",
                        p.display()
                    ),
                    colls as u64,
                    vec![format!(
                        "restore with: mongorestore --archive={} (add --oplogReplay for an \
                         archive made with --oplog)",
                        p.display()
                    )],
                ))
            }
            RestoreMode::Server => {
                let done = restore(cx.repo, &cx.id, &index, &self.restore, &|d| {
                    cx.say(&format!(
                        "restored {} into {}.{}: {} documents, {} indexes",
                        d.from, d.db, d.collection, d.docs, d.indexes
                    ))
                })?;
                let docs: u64 = done.iter().map(|d| d.docs).sum();
                let mut details: Vec<String> = done
                    .iter()
                    .map(|d| {
                        format!(
                            "{} -> {}.{}: {} documents, {} indexes{}",
                            d.from,
                            d.db,
                            d.collection,
                            d.docs,
                            d.indexes,
                            if d.existed {
                                " (added to an existing collection)"
                            } else {
                                ""
                            }
                        )
                    })
                    .collect();
                details.extend(left_for_mongorestore(&index));
                Ok(outcome(
                    format!("restored {} collections, {docs} documents", done.len()),
                    done.len() as u64,
                    details,
                ))
            }
        }
    }

    fn verify(&self, cx: &RestoreCx<'_>) -> Result<Outcome> {
        let index = read_index(cx.repo, &cx.id, cx.snapshot)?;
        verified(cx, &index)
    }

    fn drill(&self, cx: &RestoreCx<'_>, scratch: &std::path::Path) -> Result<Outcome> {
        let index = read_index(cx.repo, &cx.id, cx.snapshot)?;
        let mut o = verified(cx, &index)?;
        match &self.drill_uri {
            Some(uri) => o
                .details
                .extend(drill_server(cx.repo, &cx.id, &index, uri)?),
            None => o.details.push(drill_archive(
                cx.repo,
                &cx.id,
                &index,
                &scratch.join("mongodb.archive"),
            )?),
        }
        Ok(o)
    }
}

fn left_for_mongorestore(index: &Index) -> Vec<String> {
    let left: Vec<String> = index
        .collections
        .iter()
        .filter(|c| needs_mongorestore(c))
        .map(|c| c.ns())
        .collect();
    match left.is_empty() {
        true => vec![],
        false => vec![format!(
            "not restored (mongorestore's to apply: `cairn dump mongodb` writes them into an \
             archive): {}",
            left.join(", ")
        )],
    }
}

fn outcome(summary: String, items: u64, details: Vec<String>) -> Outcome {
    Outcome {
        summary,
        items,
        bytes: 0,
        details,
        data: serde_json::Value::Null,
    }
}

/// Every collection's metadata parsed and documents read back, checked
/// against the index.
fn verified(cx: &RestoreCx<'_>, index: &Index) -> Result<Outcome> {
    let (mut docs, mut bytes) = (0u64, 0u64);
    for c in &index.collections {
        if c.kind != "oplog" {
            read_meta(cx.repo, &cx.id, c)?;
        }
        let n = each_doc(cx.repo, &cx.id, c, |d| {
            bytes += d.len() as u64;
            Ok(())
        })?;
        docs += n.docs();
    }
    let mut o = outcome(
        format!(
            "{} collections, {docs} documents read back: counts and hashes match the index",
            index.collections.len()
        ),
        index.collections.len() as u64,
        vec![format!(
            "source {}, server {}, consistency {}{}",
            index.source,
            index.server_version,
            index.consistency,
            index
                .at_cluster_time
                .as_ref()
                .map(|t| format!(" at {t}"))
                .unwrap_or_default()
        )],
    );
    o.bytes = bytes;
    o.data = serde_json::json!({ "collections": index.collections.len(), "documents": docs });
    Ok(o)
}
