//! Point-in-time restore: the right base backup into a new data
//! directory, set up so that a plain `pg_ctl start` fetches WAL from the
//! archive and replays it to the target.

use super::base::{BaseInfo, BASE_STREAM};
use super::catalog::Catalog;
use super::name::{lsn_segment, segment_name};
use super::target::{Action, Target};
use cairn::{Error, Repository, Result, SnapshotId};
use std::path::{Path, PathBuf};
use std::process::Command;

/// How to restore.
#[derive(Clone, Debug)]
pub struct RecoverOptions {
    /// The new data directory (absent or empty).
    pub data_dir: PathBuf,
    /// Where replay stops.
    pub target: Target,
    /// What the server does there.
    pub action: Action,
    /// This base backup instead of the newest one that fits the target.
    pub base: Option<SnapshotId>,
    /// The `restore_command` written into the configuration (see
    /// [`restore_command`]).
    pub restore_command: String,
    /// Also turn archiving off in the restored cluster (drills: a scratch
    /// copy must never archive into the production repository).
    pub archive_off: bool,
    /// Catalog cache directory.
    pub cache_dir: Option<PathBuf>,
}

/// What was restored.
#[derive(Clone, Debug)]
pub struct Recovered {
    /// The base backup used.
    pub base: BaseInfo,
    /// Archived segments the replay will read, first and last.
    pub wal_range: Option<(String, String)>,
    /// The settings written to `postgresql.auto.conf`.
    pub settings: Vec<(String, String)>,
}

/// The base backups of the catalog with their facts, oldest first.
pub fn bases(catalog: &Catalog) -> Vec<BaseInfo> {
    catalog
        .bases
        .iter()
        .filter_map(|(id, s)| BaseInfo::of(id, s))
        .collect()
}

/// The newest base backup from which `target` can be reached.
pub fn choose_base(catalog: &Catalog, target: &Target) -> Result<BaseInfo> {
    let all = bases(catalog);
    let fits = |b: &BaseInfo| match target {
        Target::Time(t) => b.ended_ns <= *t,
        Target::Lsn(l) => b.stop_lsn <= *l,
        _ => true,
    };
    all.iter().rev().find(|b| fits(b)).cloned().ok_or_else(|| {
        let oldest = all.first().map_or("none is stored".to_string(), |b| {
            format!(
                "the oldest ended at {} (LSN {})",
                super::target::pg_time(b.ended_ns),
                super::name::format_lsn(b.stop_lsn)
            )
        });
        Error::invalid(format!(
            "no base backup can reach {}: a restore needs a base backup that ended before its \
             target; {oldest}",
            target.describe()
        ))
    })
}

/// The last segment number a replay to `target` reads, or an error when
/// the archive cannot reach it yet.
fn last_segment(catalog: &Catalog, base: &BaseInfo, target: &Target) -> Result<Option<u64>> {
    let size = base.segment_size;
    let on_or_after = |tl: u32| catalog.segments().filter(move |(n, _)| n.timeline >= tl);
    let newest = on_or_after(base.timeline)
        .map(|(n, _)| n.number(size))
        .max();
    Ok(match target {
        Target::Immediate => None,
        Target::Latest | Target::Xid(_) => newest.filter(|n| *n > base.stop_segment()),
        Target::Lsn(l) => Some(lsn_segment(*l, size)),
        Target::Time(t) => {
            let after = on_or_after(base.timeline)
                .filter(|(_, a)| a.time_ns >= *t)
                .map(|(n, _)| n.number(size))
                .min();
            match after {
                Some(n) => Some(n),
                None => {
                    return Err(Error::invalid(format!(
                        "{} is later than the newest archived WAL ({}): the archive cannot reach \
                         it yet; restore to a time before that, or to the latest point",
                        target.describe(),
                        catalog
                            .newest()
                            .map(|a| format!(
                                "{} archived {}",
                                a.name,
                                super::target::pg_time(a.time_ns)
                            ))
                            .unwrap_or_else(|| "none".into())
                    )))
                }
            }
        }
    })
}

/// Checks that every segment from the end of `base` to the target is
/// archived; the error names the first missing one.
pub fn check_wal(
    catalog: &Catalog,
    base: &BaseInfo,
    target: &Target,
) -> Result<Option<(String, String)>> {
    let Some(last) = last_segment(catalog, base, target)? else {
        return Ok(None);
    };
    let first = base.stop_segment() + 1;
    let size = base.segment_size;
    let have = catalog.segment_index();
    for n in first..=last {
        if !have.has(base.timeline, n) {
            return Err(Error::NotFound {
                kind: "WAL segment".into(),
                name: format!(
                    "{} (needed to replay from base backup {} to {}; the archive has a gap there, \
                     so no restore can pass it: choose an earlier target, or a later base backup)",
                    segment_name(base.timeline, n, size),
                    base.id.short(),
                    target.describe()
                ),
            });
        }
    }
    Ok((first <= last).then(|| {
        (
            segment_name(base.timeline, first, size),
            segment_name(base.timeline, last, size),
        )
    }))
}

/// Quotes a word for `sh`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A `restore_command` that runs `exe --repo repo wal fetch %f %p` with
/// the environment entries `env` (where the key is, never the key).
pub fn restore_command(exe: &Path, repo: &str, env: &[(String, String)]) -> String {
    let mut parts: Vec<String> = env
        .iter()
        .map(|(k, v)| format!("{k}={}", sh_quote(v)))
        .collect();
    parts.push(sh_quote(&exe.display().to_string()));
    parts.push("--repo".into());
    parts.push(sh_quote(repo));
    parts.push("wal fetch %f %p".into());
    parts.join(" ")
}

fn conf_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn prepare_dir(dir: &Path) -> Result<()> {
    let io = |e| Error::io(dir.display().to_string(), e);
    if dir.exists() {
        if std::fs::read_dir(dir).map_err(io)?.next().is_some() {
            return Err(Error::invalid(format!(
                "{} is not empty: a point-in-time restore writes a whole new data directory and \
                 never mixes into an existing one",
                dir.display()
            )));
        }
    } else {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)
}

fn write_config(dir: &Path, o: &RecoverOptions, base: &BaseInfo) -> Result<Vec<(String, String)>> {
    use std::io::Write;
    let mut settings = vec![("restore_command".to_string(), o.restore_command.clone())];
    settings.extend(o.target.settings(o.action));
    if o.archive_off {
        settings.push(("archive_mode".into(), "off".into()));
    }
    let path = dir.join("postgresql.auto.conf");
    let io = |e| Error::io(path.display().to_string(), e);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(io)?;
    let mut text = format!(
        "\n# Added by cairn: point-in-time restore from base backup {} to {}.\n",
        base.id.short(),
        o.target.describe()
    );
    for (k, v) in &settings {
        text.push_str(&format!("{k} = {}\n", conf_quote(v)));
    }
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    let signal = dir.join("recovery.signal");
    std::fs::write(&signal, b"").map_err(|e| Error::io(signal.display().to_string(), e))?;
    Ok(settings)
}

/// Restores the base backup that fits `o.target` into `o.data_dir` and
/// configures recovery. The archive is checked first: a gap between the
/// base backup and the target stops the restore before anything is
/// written, naming the missing segment.
pub fn recover(repo: &Repository, o: &RecoverOptions) -> Result<Recovered> {
    let catalog = Catalog::load(repo, o.cache_dir.as_deref())?;
    let base = match &o.base {
        Some(id) => bases(&catalog)
            .into_iter()
            .find(|b| b.id == *id)
            .ok_or_else(|| {
                Error::invalid(format!("snapshot {} is not a base backup", id.short()))
            })?,
        None => choose_base(&catalog, &o.target)?,
    };
    let wal_range = check_wal(&catalog, &base, &o.target)?;
    prepare_dir(&o.data_dir)?;
    let mut tar = Command::new("tar");
    tar.args(["--extract", "--file=-", "--no-same-owner", "--directory"])
        .arg(&o.data_dir);
    cairn_plan::pipe_into(repo, &base.id, BASE_STREAM, tar, "tar")?;
    for stale in ["postmaster.pid", "postmaster.opts", "standby.signal"] {
        let _ = std::fs::remove_file(o.data_dir.join(stale));
    }
    let settings = write_config(&o.data_dir, o, &base)?;
    Ok(Recovered {
        base,
        wal_range,
        settings,
    })
}
