//! The point-in-time drill: restore to a random point of the window into
//! a scratch cluster, start it, let it replay, run the operator's check
//! query, stop it and remove it.

use super::catalog::Catalog;
use super::name::{format_lsn, segment_name};
use super::recover::{bases, recover, RecoverOptions, Recovered};
use super::target::{Action, Target};
use crate::Tools;
use cairn::{Error, Repository, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How to drill.
#[derive(Clone, Debug)]
pub struct PitrDrillOptions {
    /// Server tools (`pg_ctl`, `psql`).
    pub tools: Tools,
    /// Seed of the random choice (the same seed picks the same point).
    pub seed: u64,
    /// A fixed target instead of a random one.
    pub target: Option<Target>,
    /// SQL whose output proves the data is there (run with `psql`, must
    /// succeed).
    pub check_sql: Option<String>,
    /// The `restore_command` for the scratch cluster.
    pub restore_command: String,
    /// A directory for the scratch cluster (removed afterwards).
    pub scratch: PathBuf,
    /// Longest wait for the replay.
    pub timeout: Duration,
    /// Catalog cache directory.
    pub cache_dir: Option<PathBuf>,
}

/// What the drill found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PitrDrillReport {
    /// The base backup used.
    pub base: String,
    /// The target, in words.
    pub target: String,
    /// WAL segments replayed from the archive (first, last).
    pub wal_range: Option<(String, String)>,
    /// The last transaction the replay applied, as the server reports it.
    pub recovered_to: String,
    /// The check query's output.
    pub check_output: String,
    /// Restore, replay and check, in milliseconds: the measured RTO.
    pub rto_ms: u64,
}

/// A small seeded generator (splitmix64): a drill is replayable.
fn pick(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) % n.max(1)
}

/// A random reachable point: the start of an archived segment after a base
/// backup, with the segment after it archived too (so the record there can
/// be read whole). Without such a segment, the end of a base backup.
pub fn random_target(catalog: &Catalog, seed: u64) -> Result<Target> {
    let all = bases(catalog);
    if all.is_empty() {
        return Err(Error::invalid("no base backup is stored: nothing to drill"));
    }
    let base = &all[pick(seed, all.len() as u64) as usize];
    let size = base.segment_size;
    let have = catalog.segment_index();
    let mut points: Vec<u64> = catalog
        .segments()
        .filter(|(n, _)| n.timeline >= base.timeline)
        .map(|(n, _)| n.number(size))
        .filter(|n| *n > base.stop_segment() && have.has(base.timeline, n + 1))
        .collect();
    points.sort_unstable();
    points.dedup();
    Ok(match points.is_empty() {
        true => Target::Immediate,
        false => Target::Lsn(points[pick(seed ^ 1, points.len() as u64) as usize] * size),
    })
}

fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::io("127.0.0.1:0", e))
}

struct Scratch<'a> {
    tools: &'a Tools,
    data: PathBuf,
    sock: PathBuf,
    port: u16,
    started: bool,
}

impl Scratch<'_> {
    fn psql(&self, sql: &str) -> Result<String> {
        let mut cmd = Command::new(self.tools.path("psql"));
        cmd.args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            "postgres",
        ])
        .env("PGHOST", &self.sock)
        .env("PGPORT", self.port.to_string());
        crate::tools::run(cmd, "psql (scratch cluster)", Some(sql))
    }

    fn start(&mut self, log: &Path, timeout: Duration) -> Result<()> {
        let opts = format!(
            "-p {} -k {} -c listen_addresses='' -c archive_mode=off",
            self.port,
            self.sock.display()
        );
        let mut cmd = Command::new(self.tools.path("pg_ctl"));
        cmd.arg("-D")
            .arg(&self.data)
            .args(["-o", &opts, "-l"])
            .arg(log);
        cmd.args(["-w", "-t", &timeout.as_secs().max(1).to_string(), "start"]);
        self.started = true;
        crate::tools::run(cmd, "pg_ctl start", None)
            .map(|_| ())
            .map_err(|e| {
                let tail = std::fs::read_to_string(log).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(8).collect();
                Error::Source {
                    name: "scratch cluster".into(),
                    detail: format!(
                        "{e}; server log: {}",
                        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                    ),
                }
            })
    }

    fn wait_promoted(&self, deadline: Instant) -> Result<()> {
        loop {
            if self.psql("SELECT pg_is_in_recovery();\n")?.trim() == "f" {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::Source {
                    name: "scratch cluster".into(),
                    detail: "replay did not finish within the timeout".into(),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        if self.started {
            let _ = Command::new(self.tools.path("pg_ctl"))
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}

/// Runs the drill; the scratch directory is removed whatever happens.
pub fn pitr_drill(repo: &Repository, o: &PitrDrillOptions) -> Result<PitrDrillReport> {
    let started = Instant::now();
    let catalog = Catalog::load(repo, o.cache_dir.as_deref())?;
    let target = match &o.target {
        Some(t) => t.clone(),
        None => random_target(&catalog, o.seed)?,
    };
    let dir = o
        .scratch
        .join(format!("cairn-pitr-drill-{}", std::process::id()));
    let result = drill_in(repo, o, &dir, target, started);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn drill_in(
    repo: &Repository,
    o: &PitrDrillOptions,
    dir: &Path,
    target: Target,
    started: Instant,
) -> Result<PitrDrillReport> {
    let data = dir.join("data");
    let sock = dir.join("sock");
    std::fs::create_dir_all(&sock).map_err(|e| Error::io(sock.display().to_string(), e))?;
    let rec: Recovered = recover(
        repo,
        &RecoverOptions {
            data_dir: data.clone(),
            target: target.clone(),
            action: Action::Promote,
            base: None,
            restore_command: o.restore_command.clone(),
            archive_off: true,
            cache_dir: o.cache_dir.clone(),
        },
    )?;
    let mut scratch = Scratch {
        tools: &o.tools,
        data,
        sock,
        port: free_port()?,
        started: false,
    };
    scratch.start(&dir.join("server.log"), o.timeout)?;
    scratch.wait_promoted(started + o.timeout)?;
    let recovered_to = scratch
        .psql(
            "SELECT coalesce(pg_last_xact_replay_timestamp()::text, 'no transaction replayed');\n",
        )?
        .trim()
        .to_string();
    let check_output = match &o.check_sql {
        Some(sql) => scratch.psql(&format!("{sql}\n"))?.trim().to_string(),
        None => String::new(),
    };
    let size = rec.base.segment_size;
    Ok(PitrDrillReport {
        base: rec.base.id.to_hex(),
        target: match &target {
            Target::Lsn(l) => format!(
                "LSN {} (start of segment {})",
                format_lsn(*l),
                segment_name(rec.base.timeline, l / size, size)
            ),
            t => t.describe(),
        },
        wal_range: rec.wal_range,
        recovered_to,
        check_output,
        rto_ms: started.elapsed().as_millis() as u64,
    })
}
