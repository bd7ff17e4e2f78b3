//! `cairn backup s3` and `cairn restore s3`.

use crate::cli::{Global, S3BackupArgs, S3RestoreArgs};
use crate::context;
use anyhow::Result;
use cairn::ParentChoice;
use cairn_s3::{S3BackupOptions, S3Component, S3RestoreOptions};
use std::process::ExitCode;

pub fn backup(g: &Global, a: &S3BackupArgs) -> Result<ExitCode> {
    let parent = match a.parent.as_deref() {
        None => ParentChoice::Auto,
        Some("none") => ParentChoice::None,
        Some(p) => ParentChoice::Id(context::open(g)?.resolve_snapshot(p)?),
    };
    let c = S3Component::new(S3BackupOptions {
        url: a.url.clone(),
        s3: g.s3(),
        excludes: a.exclude.clone(),
        parent,
        ..Default::default()
    });
    super::component::backup(g, &c, a.tag.clone(), a.host.clone())
}

pub fn restore(g: &Global, a: &S3RestoreArgs) -> Result<ExitCode> {
    let c = S3Component::default().restore_into(S3RestoreOptions {
        url: a.url.clone(),
        s3: g.s3(),
        prefix: a.prefix.clone(),
        include: a.include.clone(),
    });
    super::component::restore(g, &c, &a.snapshot)
}
