//! `cairn backup mongodb`, `cairn restore mongodb` and `cairn dump
//! mongodb`.

use crate::cli::{Global, MongoBackupArgs, MongoDumpArgs, MongoPickArgs, MongoRestoreArgs};
use anyhow::Result;
use cairn_mongodb::{
    renames, BackupOptions, MongoComponent, RestoreMode, RestoreOptions, Selection, Source,
};
use std::process::ExitCode;

fn selection(p: &MongoPickArgs) -> Selection {
    Selection {
        databases: p.databases.clone(),
        exclude_databases: p.exclude_databases.clone(),
        collections: p.collections.clone(),
        exclude_collections: p.exclude_collections.clone(),
        exclude_prefixes: p.exclude_prefixes.clone(),
    }
}

pub fn backup(g: &Global, a: &MongoBackupArgs) -> Result<ExitCode> {
    let source = match &a.archive {
        Some(path) => Source::Archive {
            path: path.clone(),
            spool: a.spool_dir.clone().unwrap_or_else(std::env::temp_dir),
            selection: selection(&a.pick),
        },
        None => Source::Server(BackupOptions {
            uri: a.uri.clone(),
            selection: selection(&a.pick),
            snapshot: !a.no_snapshot,
            batch: a.batch_size,
        }),
    };
    let c = MongoComponent::new(source, RestoreOptions::default(), RestoreMode::Server);
    super::component::backup(g, &c, a.tag.clone(), a.host.clone())
}

pub fn restore(g: &Global, a: &MongoRestoreArgs) -> Result<ExitCode> {
    let r = RestoreOptions {
        uri: a.uri.clone(),
        selection: selection(&a.pick),
        drop: a.drop,
        rename: renames(&a.ns_from, &a.ns_to)?,
        no_indexes: a.no_indexes,
    };
    let c = MongoComponent::new(
        Source::Server(BackupOptions::default()),
        r,
        RestoreMode::Server,
    );
    super::component::restore(g, &c, &a.snapshot)
}

/// `cairn dump mongodb SNAPSHOT FILE`: the archive of `mongorestore
/// --archive=FILE`.
pub fn dump(g: &Global, a: &MongoDumpArgs) -> Result<ExitCode> {
    let r = RestoreOptions {
        selection: selection(&a.pick),
        ..Default::default()
    };
    let c = MongoComponent::new(
        Source::Server(BackupOptions::default()),
        r,
        RestoreMode::Archive(a.archive.clone()),
    );
    super::component::restore(g, &c, &a.snapshot)
}
