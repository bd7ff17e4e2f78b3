//! `cairn mount`: a read-only FUSE view of the snapshots (see
//! [`layout`] for the directories), with random access into files and
//! streams. Runs until SIGINT/SIGTERM or until the mount point is
//! unmounted (`umount DIR`, `fusermount3 -u DIR`).

mod file;
mod fs;
mod layout;

use crate::cli::{Global, MountArgs};
use crate::context;
use anyhow::{bail, Context, Result};
use fuser::MountOption;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub fn run(g: &Global, a: &MountArgs) -> Result<ExitCode> {
    let meta = std::fs::metadata(&a.mountpoint)
        .with_context(|| format!("mount point {}", a.mountpoint.display()))?;
    if !meta.is_dir() {
        bail!("mount point {} is not a directory", a.mountpoint.display());
    }
    let repo = context::open(g)?;
    for e in repo.readable_snapshots()?.1 {
        crate::err!("cairn: warning: {e}; not shown");
    }
    let snaps = crate::select::list(&repo, &a.filter)?;
    let count = snaps.len();
    let fs = fs::SnapshotFs::new(repo, layout::Inodes::new(&snaps));
    let mut cfg = fuser::Config::default();
    cfg.mount_options = vec![
        MountOption::FSName("cairn".into()),
        MountOption::Subtype("cairn".into()),
        MountOption::RO,
        MountOption::DefaultPermissions,
    ];
    if a.allow_other {
        cfg.acl = fuser::SessionACL::All;
    }
    cfg.n_threads = Some(2);
    let session = fuser::spawn_mount(fs, &a.mountpoint, &cfg).with_context(|| {
        format!(
            "mounting {} (needs /dev/fuse, and root or fusermount3 from the fuse3 package)",
            a.mountpoint.display()
        )
    })?;
    if !g.quiet {
        crate::err!(
            "cairn: {count} snapshots mounted read-only at {}; Ctrl-C or `umount {}` ends it",
            a.mountpoint.display(),
            a.mountpoint.display()
        );
    }
    let stop = crate::signals::stop_flag();
    while !stop.load(Ordering::Relaxed) && !session.guard.is_finished() {
        std::thread::sleep(Duration::from_millis(100));
    }
    if session.guard.is_finished() {
        session
            .join()
            .context("the FUSE session ended with an error")?;
    } else {
        session
            .umount_and_join()
            .with_context(|| format!("unmounting {}", a.mountpoint.display()))?;
    }
    if !g.quiet {
        crate::err!("cairn: {} unmounted", a.mountpoint.display());
    }
    super::ok()
}
