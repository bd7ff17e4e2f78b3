//! The `files` component: directory trees with excludes.

use crate::component::{read_back, Capture, CaptureCx, Component, Outcome, RestoreCx};
use crate::doc::Table;
use cairn::{
    now_ns, Error, Excludes, Overwrite, ParentChoice, RestoreOptions, Result, Snapshot,
    SEED_TEMP_EXCLUDES,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Named exclude presets: `seed-temp` is the seeds' temporary data
/// (`TEMP.*` files, `tmp/`, `DR_TMP_DIR/` and `pending/` folders).
pub const PRESETS: &[(&str, &[&str])] = &[("seed-temp", SEED_TEMP_EXCLUDES)];

/// Trees on this machine.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Files {
    /// Absolute paths to back up.
    pub paths: Vec<PathBuf>,
    /// Exclusion patterns (see `cairn::Excludes`), presets expanded.
    pub excludes: Vec<String>,
    /// Restore into this directory (`/` for in place); snapshot paths keep
    /// their full path below it.
    pub restore_to: Option<PathBuf>,
    /// What restore does with existing files.
    pub overwrite: Overwrite,
    /// Remove files the snapshot does not have from restored directories.
    pub delete: bool,
}

impl Files {
    /// A component for these paths (`//` and `/./` are tidied away, so
    /// they compare equal to the paths a snapshot records).
    pub fn new(paths: Vec<PathBuf>) -> Files {
        Files {
            paths: paths.iter().map(|p| p.components().collect()).collect(),
            ..Default::default()
        }
    }

    /// Adds exclusion patterns.
    pub fn excludes(mut self, patterns: Vec<String>) -> Files {
        self.excludes.extend(patterns);
        self
    }

    /// Sets the restore directory.
    pub fn restore_to(mut self, dir: impl Into<PathBuf>) -> Files {
        self.restore_to = Some(dir.into());
        self
    }
}

/// Expands a preset name into its patterns.
pub fn preset(name: &str) -> Result<Vec<String>> {
    PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| p.iter().map(|s| s.to_string()).collect())
        .ok_or_else(|| {
            Error::invalid(format!(
                "unknown exclude preset {name:?} (known: {})",
                PRESETS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

fn parse_overwrite(s: &str) -> Result<Overwrite> {
    Ok(match s {
        "always" => Overwrite::Always,
        "if-changed" => Overwrite::IfChanged,
        "if-newer" => Overwrite::IfNewer,
        "never" => Overwrite::Never,
        _ => {
            return Err(Error::invalid(format!(
                "overwrite must be always, if-changed, if-newer or never, not {s:?}"
            )))
        }
    })
}

/// `kind = "files"`: `paths`, `exclude`, `exclude_preset`; restore:
/// `target`, `overwrite`, `delete`.
pub fn from_settings(s: &mut Table, r: &mut Table) -> Result<Arc<dyn Component>> {
    let paths: Vec<PathBuf> = s.strs("paths")?.into_iter().map(PathBuf::from).collect();
    if paths.is_empty() {
        return Err(s.error("a files component needs `paths`"));
    }
    if let Some(p) = paths.iter().find(|p| !p.is_absolute()) {
        return Err(s.error(format!("path {} is not absolute", p.display())));
    }
    let mut excludes = s.strs("exclude")?;
    for name in s.strs("exclude_preset")? {
        excludes.extend(preset(&name).map_err(|e| s.error(e))?);
    }
    Excludes::new(&excludes).map_err(|e| s.error(e))?;
    let mut f = Files::new(paths).excludes(excludes);
    f.restore_to = r.str("target")?.map(PathBuf::from);
    if let Some(o) = r.str("overwrite")? {
        f.overwrite = parse_overwrite(&o).map_err(|e| r.error(e))?;
    }
    f.delete = r.bool("delete")?.unwrap_or(false);
    Ok(Arc::new(f))
}

impl Component for Files {
    fn kind(&self) -> &'static str {
        "files"
    }

    fn describe(&self) -> String {
        let paths: Vec<String> = self.paths.iter().map(|p| p.display().to_string()).collect();
        if self.excludes.is_empty() {
            paths.join(", ")
        } else {
            format!(
                "{} (excluding {})",
                paths.join(", "),
                self.excludes.join(" ")
            )
        }
    }

    fn is_previous(&self, snapshot: &Snapshot) -> bool {
        let mut mine: Vec<String> = self.paths.iter().map(|p| p.display().to_string()).collect();
        let mut theirs = snapshot.paths.clone();
        mine.sort();
        theirs.sort();
        mine == theirs
    }

    fn capture(&self, cx: &CaptureCx<'_>) -> Result<Capture> {
        let mut c = Capture::paths(self.paths.clone(), self.excludes.clone())
            .info("files", "paths", self.describe())
            .consistency(
                "a walk of live files: each file is read once, as it was at that moment; \
                 files changed while read are flagged",
            );
        c.parent = match cx.previous {
            Some((id, _)) => ParentChoice::Id(*id),
            None => ParentChoice::None,
        };
        c.marker
            .insert("walk_start".into(), cairn::format_time(now_ns()));
        c.marker_end = Some(Box::new(|| {
            let mut m = BTreeMap::new();
            m.insert("walk_end".into(), cairn::format_time(now_ns()));
            Ok(m)
        }));
        Ok(c)
    }

    fn restore_target(&self) -> String {
        match &self.restore_to {
            Some(d) if d == std::path::Path::new("/") => "in place (/)".into(),
            Some(d) => format!("directory {}", d.display()),
            None => "(no restore target set: `target` in the component's [restore])".into(),
        }
    }

    fn restore(&self, cx: &RestoreCx<'_>) -> Result<Outcome> {
        let Some(dir) = &self.restore_to else {
            return Err(Error::invalid(
                "this files component has no restore target: set `target` in its [component.restore] table",
            ));
        };
        let r = cx.repo.restore(
            &cx.id,
            RestoreOptions::new(dir.clone())
                .overwrite(self.overwrite)
                .delete(self.delete)
                .verify(true),
        )?;
        if let Some(first) = r.problems.first() {
            return Err(Error::invalid(format!(
                "{} entries could not be restored into {}; the first: {first}",
                r.problems.len(),
                dir.display()
            )));
        }
        Ok(Outcome {
            summary: format!(
                "{} files ({} bytes) restored into {} and read back",
                r.files,
                r.bytes,
                dir.display()
            ),
            items: r.files,
            bytes: r.bytes,
            details: r.not_applied.clone(),
            data: serde_json::json!({ "files": r.files, "bytes": r.bytes, "target": dir }),
        })
    }

    fn drill(&self, cx: &RestoreCx<'_>, scratch: &std::path::Path) -> Result<Outcome> {
        let r = cx.repo.restore(
            &cx.id,
            RestoreOptions::new(scratch.to_path_buf()).verify(true),
        )?;
        if let Some(first) = r.problems.first() {
            return Err(Error::invalid(format!(
                "{} entries could not be restored; the first: {first}",
                r.problems.len()
            )));
        }
        if r.verified != r.files {
            return Err(Error::corrupt(
                format!("snapshot {}", cx.id.short()),
                format!(
                    "{} files restored but only {} read back identical",
                    r.files, r.verified
                ),
            ));
        }
        Ok(Outcome {
            summary: format!(
                "{} files ({} bytes) restored into a scratch directory, every one read back and re-hashed against the snapshot",
                r.files, r.bytes
            ),
            items: r.files,
            bytes: r.bytes,
            details: r.not_applied.clone(),
            data: serde_json::json!({ "files": r.files, "bytes": r.bytes, "verified": r.verified }),
        })
    }

    /// Every byte read back, and "new files are included": every live file
    /// changed before the backup started is in the snapshot.
    fn verify(&self, cx: &RestoreCx<'_>) -> Result<Outcome> {
        let (items, bytes) = read_back(cx.repo, cx.snapshot)?;
        let fresh =
            crate::fresh::check_fresh(cx.repo, &cx.id, cx.snapshot, &self.paths, &self.excludes)?;
        if !fresh.ok() {
            let first = fresh
                .missing
                .first()
                .or(fresh.unreadable.first())
                .cloned()
                .unwrap_or_default();
            return Err(Error::invalid(format!(
                "{} live files older than the backup are missing from snapshot {} ({} directories unreadable); the first: {first}",
                fresh.missing.len(),
                cx.id.short(),
                fresh.unreadable.len()
            )));
        }
        Ok(Outcome {
            summary: format!(
                "{items} files ({bytes} bytes) read back and checked; all {} live files older than the backup are in it ({} newer)",
                fresh.checked, fresh.newer
            ),
            items,
            bytes,
            details: fresh
                .absent
                .iter()
                .map(|p| format!("{p} is not on this machine: new files there not checked"))
                .collect(),
            data: serde_json::json!({
                "files": items, "bytes": bytes,
                "fresh": { "checked": fresh.checked, "newer": fresh.newer, "missing": fresh.missing },
            }),
        })
    }
}
