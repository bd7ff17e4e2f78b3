//! Command-line definitions.

use cairn::CalendarDuration;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Deduplicating, encrypted backups.
#[derive(Parser, Debug)]
#[command(name = "cairn", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Repository location (a directory). Default: $CAIRN_REPOSITORY, else
    /// the default local repository in the user's data directory.
    #[arg(short = 'r', long, global = true, env = "CAIRN_REPOSITORY")]
    pub repo: Option<String>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress output.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// S3 endpoint for s3:// locations (MinIO, a test server), e.g.
    /// http://127.0.0.1:9000. Default: AWS_ENDPOINT_URL, else AWS.
    #[arg(long, global = true, env = "CAIRN_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Parallel requests to S3 (uploads, range reads).
    #[arg(long, global = true, default_value_t = 8)]
    pub s3_concurrency: usize,
    /// Read the repository password from this file (its first line is not
    /// special: the whole file, without a trailing newline). Same as
    /// CAIRN_PASSWORD_FILE; the flag wins over the environment.
    #[arg(long, global = true, value_name = "FILE", conflicts_with_all = ["password_command", "key_file"])]
    pub password_file: Option<PathBuf>,
    /// Get the repository password from this shell command's stdout. Same
    /// as CAIRN_PASSWORD_COMMAND.
    #[arg(long, global = true, value_name = "CMD", conflicts_with = "key_file")]
    pub password_command: Option<String>,
    /// Open the repository with this key file (no password stretching).
    /// Same as CAIRN_KEY_FILE.
    #[arg(long, global = true, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Key slot to try first (an id or prefix from `key list`), without the
    /// cost limits other slots get; for repositories with many or costly
    /// password slots.
    #[arg(long, global = true, env = "CAIRN_KEY_HINT", value_name = "ID")]
    pub key_hint: Option<String>,
    /// Tries per storage request before giving up (transient errors:
    /// timeouts, throttling, 5xx); each retry is logged as a warning.
    #[arg(long, global = true, default_value_t = 6, value_name = "N")]
    pub retries: u32,
    /// Seconds one storage request may take before it counts as failed
    /// (and is retried).
    #[arg(long, global = true, default_value_t = 60, value_name = "SECS")]
    pub timeout: u64,
    /// Write Prometheus text-format metrics (for node_exporter's textfile
    /// collector) into this directory after backups, checks and plan
    /// commands.
    #[arg(long, global = true, env = "CAIRN_METRICS_DIR", value_name = "DIR")]
    pub metrics_dir: Option<PathBuf>,
    /// POST a JSON event to this http:// or https:// URL after plan run, plan drill,
    /// plan status, backup and check (3 tries, 10 s each).
    #[arg(long, global = true, env = "CAIRN_NOTIFY_URL", value_name = "URL")]
    pub notify_url: Option<String>,
    /// Run this shell command with the JSON event on stdin (and
    /// CAIRN_EVENT, CAIRN_EVENT_OK in its environment).
    #[arg(long, global = true, env = "CAIRN_NOTIFY_COMMAND", value_name = "CMD")]
    pub notify_command: Option<String>,
    /// When to notify: on failure (default) or always.
    #[arg(long, global = true, default_value = "failure", value_parser = ["failure", "always"])]
    pub notify_on: String,
    /// Limit uploads to this many KiB/s, over all threads (as restic's).
    #[arg(long, global = true, value_name = "KIB/S", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit_upload: Option<u64>,
    /// Limit downloads to this many KiB/s, over all threads.
    #[arg(long, global = true, value_name = "KIB/S", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit_download: Option<u64>,
    /// Set by `backup --dry-run`: writes stay in memory.
    #[arg(skip)]
    pub dry_run: bool,
}

/// Parses the command line, with the environment, exit codes and each
/// command's examples added to the help (`cairn help COMMAND`).
pub fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let cmd = Cli::command()
        .after_help(crate::help::MAIN)
        .mut_subcommands(|c| match crate::help::examples(c.get_name()) {
            Some(text) => c.after_help(text),
            None => c,
        });
    let matches = cmd.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

impl Global {
    /// How to open the repository's storage, from the flags.
    pub fn backend_options(&self, create: bool) -> cairn::BackendOptions {
        let opts = cairn::BackendOptions::default()
            .create(create)
            .limits(
                self.limit_upload.map(|k| k * 1024),
                self.limit_download.map(|k| k * 1024),
            )
            .dry_run(self.dry_run);
        #[cfg(feature = "s3")]
        let opts = opts.s3(self.s3());
        opts
    }

    /// S3 options from the flags.
    #[cfg(feature = "s3")]
    pub fn s3(&self) -> cairn::S3Options {
        cairn::S3Options {
            endpoint: self.s3_endpoint.clone(),
            concurrency: self.s3_concurrency,
            retries: self.retries,
            timeout: std::time::Duration::from_secs(self.timeout.max(1)),
            ..Default::default()
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new repository.
    Init(InitArgs),
    /// Manage key slots.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Back up files, directories and streams into a new snapshot.
    Backup(BackupArgs),
    /// List snapshots (archived PostgreSQL WAL files are counted, not
    /// listed, unless --wal; --json lists everything).
    Snapshots(SnapshotsArgs),
    /// List the contents of a snapshot.
    Ls(LsArgs),
    /// Change the tags of snapshots (the given ids, or all that the
    /// selection flags pick).
    Tag(TagArgs),
    /// Find files and directories by name or path pattern across
    /// snapshots.
    Find(FindArgs),
    /// Show what changed between two snapshots.
    Diff(DiffArgs),
    /// Repository sizes, deduplication and index memory; with snapshots
    /// or selection flags, their restore size, distinct contents or raw
    /// data (--mode).
    Stats(StatsArgs),
    /// Restore a snapshot into a directory.
    Restore(RestoreArgs),
    /// Remove paths from existing snapshots (each is stored again without
    /// them; --forget deletes the old one; prune then frees the data).
    Rewrite(RewriteArgs),
    /// Write one file or stream of a snapshot to stdout (or a component's
    /// objects as files: `dump kubernetes SNAPSHOT DIR`).
    Dump(DumpArgs),
    /// A read-only FUSE view of the snapshots by id, time, host and tag,
    /// until Ctrl-C or `umount DIR`.
    #[cfg(feature = "mount")]
    Mount(MountArgs),
    /// Show a decrypted repository object (debugging).
    Cat(CatArgs),
    /// Remove snapshots by a retention policy (data is freed by prune).
    Forget(ForgetArgs),
    /// Free data no snapshot references (two-phase, safe with running backups).
    Prune(PruneArgs),
    /// Check the repository's structure, and with --read-data its data.
    Check(CheckArgs),
    /// Copy snapshots to another repository (e.g. a DR site with its own key).
    Copy(CopyArgs),
    /// Repair repository metadata.
    #[command(subcommand)]
    Repair(RepairCommand),
    /// Restore tests: check stored database dumps.
    #[command(subcommand)]
    Verify(VerifyCommand),
    /// Whole-platform backups from a plan file: run, status, restore,
    /// verify, forget (see docs/plans.md).
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Restore drill of a whole repository: one snapshot of each group
    /// (source, host, paths) restored into a scratch target, checked,
    /// cleaned up and timed. Exit 5 when a drill fails.
    Drill(DrillArgs),
    /// PostgreSQL WAL archive: push and fetch for archive_command and
    /// restore_command, status, the retention window and the PITR drill
    /// (see docs/adapters/postgres.md).
    #[command(subcommand)]
    Wal(WalCommand),
}

#[derive(Args, Debug, Default)]
pub struct SnapshotsArgs {
    /// Also list the archived WAL files (one snapshot each).
    #[arg(long)]
    pub wal: bool,
    #[command(flatten)]
    pub filter: SnapshotFilterArgs,
}

/// restic's snapshot selection: which snapshots a command considers.
#[derive(Args, Debug, Default, Clone)]
pub struct SnapshotFilterArgs {
    /// Only snapshots of this host (repeatable).
    #[arg(long = "host", value_name = "HOST", id = "filter_host")]
    pub hosts: Vec<String>,
    /// Only snapshots with these tags: `a,b` needs both; repeated, any of
    /// the lists.
    #[arg(long = "tag", value_name = "TAG[,TAG]", id = "filter_tag")]
    pub tags: Vec<String>,
    /// Only snapshots that hold this path (repeatable: all of them).
    #[arg(long = "path", value_name = "PATH", id = "filter_path")]
    pub paths: Vec<PathBuf>,
    /// Only the newest N of the selected snapshots of each (host, paths)
    /// group (commands that take one snapshot, and forget, refuse it).
    #[arg(long = "latest", value_name = "N", id = "filter_latest")]
    pub latest: Option<usize>,
}

#[derive(Subcommand, Debug)]
pub enum WalCommand {
    /// Store one WAL file (archive_command = 'cairn wal push %p'). Exits 0
    /// only once it is durably stored; the same file again is a no-op, other
    /// bytes under an archived name are refused.
    Push(WalPushArgs),
    /// Write an archived WAL file (restore_command = 'cairn wal fetch %f
    /// %p'). Exit 1 when it is not archived.
    Fetch(WalFetchArgs),
    /// Newest archived segment and its age, gaps, base backups. Exit 6
    /// when stale (--max-age), a gap exists or no base backup is stored.
    Status(WalStatusArgs),
    /// Keep a restore window: the base backups it needs and every WAL file
    /// after the oldest of them; forget the rest (then run prune).
    Forget(WalForgetArgs),
    /// Restore to a random point (seeded) into a scratch cluster, replay,
    /// run a check query, clean up; report the RTO. Exit 5 on failure.
    Drill(WalDrillArgs),
}

#[derive(Args, Debug)]
pub struct WalPushArgs {
    /// The WAL file (PostgreSQL's %p).
    pub path: PathBuf,
    /// Host name to record.
    #[arg(long)]
    pub host: Option<String>,
}

#[derive(Args, Debug)]
pub struct WalFetchArgs {
    /// The WAL file name (PostgreSQL's %f).
    pub name: String,
    /// Where to write it (PostgreSQL's %p).
    pub dest: PathBuf,
}

#[derive(Args, Debug)]
pub struct WalStatusArgs {
    /// Fail (exit 6) when the newest WAL file is older than this (like
    /// 15m, 1h).
    #[arg(long, value_name = "AGE", value_parser = parse_interval_arg)]
    pub max_age: Option<std::time::Duration>,
}

#[derive(Args, Debug)]
pub struct WalForgetArgs {
    /// The restore window (like 7d): restores to any point this far back
    /// stay possible.
    #[arg(long, value_name = "DURATION", value_parser = parse_interval_arg)]
    pub keep_within: std::time::Duration,
    /// Only show what would be forgotten.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct WalDrillArgs {
    /// Seed of the random point (printed; the same seed replays the drill).
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub target: PitrTargetArgs,
    /// SQL run in the restored cluster; its output is reported and it must
    /// succeed.
    #[arg(long, value_name = "SQL")]
    pub check_sql: Option<String>,
    /// Where the scratch cluster goes (default: the temp directory).
    #[arg(long, value_name = "DIR")]
    pub scratch_dir: Option<PathBuf>,
    /// Directory of pg_ctl and psql.
    #[arg(long, env = "CAIRN_PG_BIN", value_name = "DIR")]
    pub pg_bin: Option<PathBuf>,
    /// Longest wait for restore and replay.
    #[arg(long, default_value = "10m", value_parser = parse_interval_arg)]
    pub replay_timeout: std::time::Duration,
}

#[derive(Args, Debug, Default)]
pub struct PitrTargetArgs {
    /// Replay to this time (RFC 3339, or "2026-12-01 10:00:00+01").
    #[arg(long, value_name = "TIME")]
    pub target_time: Option<String>,
    /// Replay to this WAL position (like 0/3000060).
    #[arg(long, value_name = "LSN")]
    pub target_lsn: Option<String>,
    /// Replay until this transaction id committed.
    #[arg(long, value_name = "XID")]
    pub target_xid: Option<String>,
    /// Stop as soon as the base backup is consistent.
    #[arg(long)]
    pub target_immediate: bool,
}

pub fn parse_interval_arg(s: &str) -> Result<std::time::Duration, String> {
    cairn_plan::parse_interval(s).map_err(|e| e.to_string())
}

#[derive(Args, Debug)]
pub struct DrillArgs {
    /// Which snapshot of each group: latest, random (seed printed),
    /// random:SEED (replays a drill), or N (the N-th newest).
    #[arg(long, default_value = "latest", value_name = "PICK")]
    pub pick: String,
    /// Where scratch restores go (default: the temp directory).
    #[arg(long, value_name = "DIR")]
    pub scratch_dir: Option<PathBuf>,
    /// PostgreSQL dumps are restored into a scratch database on this server
    /// (and dropped), with row counts; without it, `pg_restore --list`.
    #[arg(long, value_name = "DSN")]
    pub pg_scratch_dsn: Option<String>,
    /// Directory of the PostgreSQL client tools.
    #[arg(long, env = "CAIRN_PG_BIN", value_name = "DIR")]
    pub pg_bin: Option<PathBuf>,
    /// Bucket snapshots are restored below a new prefix of this
    /// `s3://bucket[/prefix]` (and deleted); without it, read back.
    #[arg(long, value_name = "URL")]
    pub s3_scratch: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum PlanCommand {
    /// Back up every component in order, each into its own snapshot, inside
    /// the plan's cold window. Exit 5 when a component or hook failed.
    Run(PlanRunArgs),
    /// Last good backup and age of each component; exit 6 when one is
    /// overdue or the last run failed (for cron and monitoring probes).
    Status(PlanFileArg),
    /// Restore every component in the plan's restore order, printing the
    /// runbook and the post-restore checklist.
    Restore(PlanRestoreArgs),
    /// Prove the snapshots a restore would use restorable, component by
    /// component.
    Verify(PlanPickArgs),
    /// Apply each component's retention to its own snapshots.
    Forget(PlanForgetArgs),
    /// Restore drill: restore a picked snapshot of each component into a
    /// scratch target, check it, clean up, and time it (the measured RTO).
    /// Exit 5 when a drill fails.
    Drill(PlanDrillArgs),
    /// Parse and validate plan files without touching any repository.
    Validate(PlanValidateArgs),
}

#[derive(Args, Debug)]
pub struct PlanFileArg {
    /// The plan file (TOML).
    pub plan: PathBuf,
}

#[derive(Args, Debug)]
pub struct PlanRunArgs {
    /// The plan file (TOML).
    pub plan: PathBuf,
    /// Only this component (repeatable).
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
    /// Go on with the next component when one fails (the run still fails).
    #[arg(long)]
    pub continue_on_error: bool,
}

#[derive(Args, Debug)]
pub struct PlanPickArgs {
    /// The plan file (TOML).
    pub plan: PathBuf,
    /// Run id (or a unique prefix); default: the newest run that stored
    /// every selected component.
    pub run: Option<String>,
    /// Only this component (repeatable).
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
    /// The newest snapshot of each component, from whichever run.
    #[arg(long, conflicts_with = "run")]
    pub latest: bool,
}

#[derive(Args, Debug)]
pub struct PlanRestoreArgs {
    #[command(flatten)]
    pub pick: PlanPickArgs,
    /// Restore even when the snapshots break an ordering rule
    /// (`older_than`, seed 003).
    #[arg(long)]
    pub force: bool,
    /// Print the runbook and touch nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct PlanForgetArgs {
    /// The plan file (TOML).
    pub plan: PathBuf,
    /// Only show what would be removed.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct PlanDrillArgs {
    /// The plan file (TOML).
    pub plan: PathBuf,
    /// Which snapshot of each component: latest, random (seed printed),
    /// random:SEED (replays a drill), or N (the N-th newest, 0 = newest).
    #[arg(long, default_value = "latest", value_name = "PICK")]
    pub pick: String,
    /// Only this component (repeatable).
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
    /// Where scratch restores go (default: the temp directory); removed
    /// afterwards.
    #[arg(long, value_name = "DIR")]
    pub scratch_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PlanValidateArgs {
    /// Plan files.
    #[arg(required = true)]
    pub plans: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ForgetArgs {
    #[command(flatten)]
    pub filter: SnapshotFilterArgs,
    /// Keep the N newest snapshots ("unlimited" or -1: all).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_count)]
    pub keep_last: Option<i64>,
    /// Keep the newest snapshot of each of the N most recent hours that
    /// have snapshots ("unlimited" or -1: of every hour).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_count)]
    pub keep_hourly: Option<i64>,
    /// ... days.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_count)]
    pub keep_daily: Option<i64>,
    /// ... ISO weeks.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_count)]
    pub keep_weekly: Option<i64>,
    /// ... months.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_count)]
    pub keep_monthly: Option<i64>,
    /// ... years.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_count)]
    pub keep_yearly: Option<i64>,
    /// Keep every snapshot newer than the group's latest snapshot minus
    /// DURATION (e.g. 30d, 12h, 1y5m7d2h; y and m are calendar years and
    /// months, w is 7 days).
    #[arg(long, value_name = "DURATION", value_parser = parse_within)]
    pub keep_within: Option<CalendarDuration>,
    /// Keep the newest snapshot of every hour among those newer than the
    /// group's latest snapshot minus DURATION.
    #[arg(long, value_name = "DURATION", value_parser = parse_within)]
    pub keep_within_hourly: Option<CalendarDuration>,
    /// ... of every day.
    #[arg(long, value_name = "DURATION", value_parser = parse_within)]
    pub keep_within_daily: Option<CalendarDuration>,
    /// ... of every ISO week.
    #[arg(long, value_name = "DURATION", value_parser = parse_within)]
    pub keep_within_weekly: Option<CalendarDuration>,
    /// ... of every month.
    #[arg(long, value_name = "DURATION", value_parser = parse_within)]
    pub keep_within_monthly: Option<CalendarDuration>,
    /// ... of every year.
    #[arg(long, value_name = "DURATION", value_parser = parse_within)]
    pub keep_within_yearly: Option<CalendarDuration>,
    /// Keep snapshots that carry every tag of this comma-separated list
    /// ("a,b": both a and b). Repeatable: a snapshot matching any one list
    /// is kept. An empty value keeps snapshots without tags.
    #[arg(long, value_name = "TAG[,TAG...]")]
    pub keep_tag: Vec<String>,
    /// Group by any of host, tags, paths, comma-separated ("none" or "":
    /// one group).
    #[arg(long, default_value = "host,paths")]
    pub group_by: String,
    /// Only show what would be removed.
    #[arg(long)]
    pub dry_run: bool,
    /// Run prune afterwards.
    #[arg(long)]
    pub prune: bool,
    /// Remove these snapshots (ids or prefixes), readable or damaged,
    /// instead of applying a policy.
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Delete planned packs only this long after they were planned (0 = now,
    /// when no backup is running).
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub grace: String,
    /// Repack packs with at least this share of unused bytes (0..1).
    #[arg(long, default_value_t = 0.5)]
    pub repack_threshold: f64,
    /// Only report what would be freed.
    #[arg(long)]
    pub dry_run: bool,
    /// A session marker that cannot be read (damaged, or written by an
    /// older cairn without a heartbeat) counts as a running backup for this
    /// long after it was stored. Current markers declare their own timeout.
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub stale_session: String,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Also read, decrypt and verify every pack.
    #[arg(long)]
    pub read_data: bool,
    /// Read only a subset: N% (random) or n/m (part n of m).
    #[arg(long, value_name = "SUBSET", conflicts_with = "read_data_rotate")]
    pub read_data_subset: Option<String>,
    /// Read the next 1/M of the packs after where the previous rotating
    /// check stopped (recorded in the repository): M daily runs read every
    /// pack once.
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u32).range(1..))]
    pub read_data_rotate: Option<u32>,
    /// Read at most this many pack bytes per run (e.g. 500M, 20G; at least
    /// one pack), with any of the read options.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_bytes: Option<u64>,
    #[command(flatten)]
    pub filter: SnapshotFilterArgs,
    /// Only these snapshots (ids, prefixes or latest) and, with the read
    /// options, only the packs holding their data; default: all, or every
    /// snapshot the selection flags pick.
    pub snapshots: Vec<String>,
}

/// `123`, `500K`, `500M`, `20G`, `1T` (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 1 << 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 1 << 30),
        Some('T' | 't') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("bad size {s:?}: like 500M or 20G"))
}

#[derive(Args, Debug)]
pub struct CopyArgs {
    /// Target repository; its key comes from CAIRN_TO_PASSWORD_FILE,
    /// CAIRN_TO_PASSWORD_COMMAND or CAIRN_TO_KEY_FILE.
    #[arg(long)]
    pub to: String,
    /// Snapshots to copy (default: all, or all that the selection flags
    /// pick).
    pub snapshots: Vec<String>,
    #[command(flatten)]
    pub filter: SnapshotFilterArgs,
}

#[derive(Subcommand, Debug)]
pub enum RepairCommand {
    /// Rebuild the index from the pack headers.
    Index,
}

#[derive(Subcommand, Debug)]
pub enum BackupSource {
    /// Dump PostgreSQL databases (pg_dump -Fc -Z0) and globals.
    Postgres(PgBackupArgs),
    /// A base backup of a whole PostgreSQL server (pg_basebackup, tar), the
    /// starting point of point-in-time restores.
    PostgresBase(PgBaseArgs),
    /// Back up the objects of an S3/MinIO bucket (or a prefix of it).
    #[cfg(feature = "s3")]
    S3(S3BackupArgs),
    /// Back up a cluster's resources and CRDs through the Kubernetes API,
    /// one object per file.
    Kubernetes(KubeBackupArgs),
    /// Back up MongoDB collections through the driver, all at one cluster
    /// time (or an existing mongodump archive with --archive).
    Mongodb(MongoBackupArgs),
}

#[derive(Subcommand, Debug)]
pub enum RestoreTarget {
    /// Restore database dumps with pg_restore.
    Postgres(PgRestoreArgs),
    /// Write a bucket backup's objects into a bucket.
    #[cfg(feature = "s3")]
    S3(S3RestoreArgs),
    /// Apply a Kubernetes backup with server-side apply, CRDs first (or
    /// print the order, or write YAML files for kubectl).
    Kubernetes(KubeRestoreArgs),
    /// Restore a MongoDB backup into a server: collections with their
    /// options, documents, then indexes; views last.
    Mongodb(MongoRestoreArgs),
}

/// Which collections a MongoDB backup, restore or dump takes.
#[derive(Args, Debug)]
pub struct MongoPickArgs {
    /// Only these databases (repeatable or comma-separated; a backup
    /// otherwise takes every one but admin, config and local).
    #[arg(short = 'd', long = "db", value_delimiter = ',')]
    pub databases: Vec<String>,
    /// Leave these databases out.
    #[arg(long = "exclude-db", value_delimiter = ',')]
    pub exclude_databases: Vec<String>,
    /// Only these collections: NAME (in any selected database) or DB.NAME.
    #[arg(short = 'c', long = "collection", value_delimiter = ',')]
    pub collections: Vec<String>,
    /// Leave these collections out (NAME or DB.NAME).
    #[arg(long = "exclude-collection", value_delimiter = ',')]
    pub exclude_collections: Vec<String>,
    /// Leave out collections whose name starts with PREFIX.
    #[arg(long = "exclude-collections-with-prefix", value_name = "PREFIX")]
    pub exclude_prefixes: Vec<String>,
}

#[derive(Args, Debug)]
pub struct MongoBackupArgs {
    /// Connection string (hosts, replicaSet, authSource, tls, ...).
    #[arg(long, default_value = cairn_mongodb::DEFAULT_URI, conflicts_with = "archive")]
    pub uri: String,
    #[command(flatten)]
    pub pick: MongoPickArgs,
    /// Read each collection at its own time: a standalone server cannot
    /// serve the snapshot reads that put every collection at one time.
    #[arg(long)]
    pub no_snapshot: bool,
    /// Documents per batch.
    #[arg(long, default_value_t = cairn_mongodb::DEFAULT_BATCH,
          value_parser = clap::value_parser!(u32).range(1..=i32::MAX as i64))]
    pub batch_size: u32,
    /// Back up this mongodump archive (`mongodump --archive`, not
    /// --gzip; `-` reads standard input) instead of a server.
    #[arg(long, value_name = "FILE")]
    pub archive: Option<PathBuf>,
    /// Where an archive's collections are spooled while it is read
    /// (default: the temporary directory).
    #[arg(long, value_name = "DIR", requires = "archive")]
    pub spool_dir: Option<PathBuf>,
    /// Tag the snapshot (repeatable).
    #[arg(long)]
    pub tag: Vec<String>,
    /// Host name to record.
    #[arg(long)]
    pub host: Option<String>,
}

#[derive(Args, Debug)]
pub struct MongoRestoreArgs {
    /// Snapshot id, prefix, or "latest".
    pub snapshot: String,
    /// Connection string of the server restored into.
    #[arg(long, default_value = cairn_mongodb::DEFAULT_URI)]
    pub uri: String,
    #[command(flatten)]
    pub pick: MongoPickArgs,
    /// Drop each collection before restoring it.
    #[arg(long)]
    pub drop: bool,
    /// Rename: a namespace pattern with `*` (app.*), paired with --ns-to
    /// (repeatable).
    #[arg(long = "ns-from", value_name = "PATTERN")]
    pub ns_from: Vec<String>,
    /// The new names (scratch_app.*), one per --ns-from.
    #[arg(long = "ns-to", value_name = "PATTERN")]
    pub ns_to: Vec<String>,
    /// Build no index but _id's.
    #[arg(long)]
    pub no_indexes: bool,
}

/// How to reach a cluster.
#[derive(Args, Debug)]
pub struct KubeConnectArgs {
    /// Kubeconfig file (default: KUBECONFIG, ~/.kube/config, then the
    /// in-cluster service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current one).
    #[arg(long)]
    pub context: Option<String>,
}

#[derive(Args, Debug)]
pub struct KubeBackupArgs {
    #[command(flatten)]
    pub connect: KubeConnectArgs,
    /// Only these namespaces (repeatable or comma-separated); cluster-scoped
    /// objects then only with --cluster-resources.
    #[arg(short, long = "namespace", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Leave these namespaces out.
    #[arg(long = "exclude-namespace", value_delimiter = ',')]
    pub exclude_namespaces: Vec<String>,
    /// Only these kinds: Deployment, deployments, deployments.apps.
    #[arg(long = "kind", value_delimiter = ',')]
    pub kinds: Vec<String>,
    /// Leave these kinds out.
    #[arg(long = "exclude-kind", value_delimiter = ',')]
    pub exclude_kinds: Vec<String>,
    /// Only these API groups (`core` for the core group).
    #[arg(long = "group", value_delimiter = ',')]
    pub groups: Vec<String>,
    /// With --namespace, also every cluster-scoped object.
    #[arg(long)]
    pub cluster_resources: bool,
    /// Label selector for every list (app=x,tier!=web).
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Leave Secrets out.
    #[arg(long)]
    pub exclude_secrets: bool,
    /// Objects per list request.
    #[arg(long, default_value_t = cairn_kubernetes::DEFAULT_PAGE_SIZE)]
    pub page_size: u32,
    /// Tag the snapshot (repeatable).
    #[arg(long)]
    pub tag: Vec<String>,
    /// Host name to record.
    #[arg(long)]
    pub host: Option<String>,
}

#[derive(Args, Debug)]
pub struct KubeRestoreArgs {
    /// Snapshot id, prefix, or "latest".
    pub snapshot: String,
    #[command(flatten)]
    pub connect: KubeConnectArgs,
    #[command(flatten)]
    pub pick: KubePickArgs,
    /// Print the objects in apply order; apply nothing.
    #[arg(long, conflicts_with = "to_yaml")]
    pub dry_run: bool,
    /// Write YAML files for `kubectl apply -f` into DIR (new or empty)
    /// instead of applying.
    #[arg(long, value_name = "DIR")]
    pub to_yaml: Option<PathBuf>,
    /// Seconds to wait for restored CRDs to become Established.
    #[arg(long, default_value_t = 60)]
    pub wait: u64,
}

#[cfg(feature = "s3")]
#[derive(Args, Debug)]
pub struct S3BackupArgs {
    /// s3://bucket[/prefix]
    pub url: String,
    /// Exclude objects whose key matches (patterns as for files, on /KEY).
    #[arg(short, long)]
    pub exclude: Vec<String>,
    /// Tag the snapshot (repeatable).
    #[arg(long)]
    pub tag: Vec<String>,
    /// Host name to record.
    #[arg(long)]
    pub host: Option<String>,
    /// Parent snapshot ("none" to read every object).
    #[arg(long)]
    pub parent: Option<String>,
}

#[cfg(feature = "s3")]
#[derive(Args, Debug)]
pub struct S3RestoreArgs {
    /// Snapshot id, prefix, or "latest".
    pub snapshot: String,
    /// Target s3://bucket[/prefix].
    pub url: String,
    /// Only keys starting with this (relative to the backed-up prefix).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Only keys matching this glob (repeatable).
    #[arg(short, long)]
    pub include: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum VerifyCommand {
    /// pg_restore --list on every stored dump, a full read-back, and with
    /// --scratch-dsn a restore into a throwaway database with row counts.
    Postgres(PgVerifyArgs),
    /// New files are included: every live file under PATH changed before
    /// the snapshot's backup started must be in it. Exit 5 when some are
    /// missing.
    Fresh(VerifyFreshArgs),
}

#[derive(Args, Debug)]
pub struct VerifyFreshArgs {
    /// Live directories or files (absolute).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Snapshot to compare with (default: the newest that covers the first
    /// PATH).
    #[arg(long, value_name = "ID")]
    pub snapshot: Option<String>,
    /// Leave out entries matching this pattern, as the backup did
    /// (repeatable).
    #[arg(short, long)]
    pub exclude: Vec<String>,
    /// Leave out the seeds' temporary data (TEMP.*, tmp/, DR_TMP_DIR/,
    /// pending/), as `backup --exclude-temp` does.
    #[arg(long)]
    pub exclude_temp: bool,
}

/// Connection options shared by the PostgreSQL commands.
#[derive(Args, Debug, Clone)]
pub struct PgConnArgs {
    /// Connection string (URI or key=value). Put a password only in
    /// CAIRN_PG_DSN, PGPASSWORD or ~/.pgpass, never on the command line.
    /// Default: the standard PG* environment variables.
    #[arg(long, env = "CAIRN_PG_DSN", hide_env_values = true)]
    pub dsn: Option<String>,
    /// Directory of pg_dump, pg_restore and psql (default: PATH).
    #[arg(long, env = "CAIRN_PG_BIN")]
    pub pg_bin: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PgBackupArgs {
    #[command(flatten)]
    pub conn: PgConnArgs,
    /// Database to dump (repeatable; default: the DSN's database).
    #[arg(long = "database")]
    pub databases: Vec<String>,
    /// Dump every database that accepts connections.
    #[arg(long, conflicts_with = "databases")]
    pub all: bool,
    /// Skip roles and tablespaces (pg_dumpall --globals-only).
    #[arg(long)]
    pub no_globals: bool,
    /// Tag the snapshot (repeatable).
    #[arg(long)]
    pub tag: Vec<String>,
    /// Host name to record.
    #[arg(long)]
    pub host: Option<String>,
}

#[derive(Args, Debug)]
pub struct PgBaseArgs {
    #[command(flatten)]
    pub conn: PgConnArgs,
    /// Spread the starting checkpoint instead of forcing it at once.
    #[arg(long)]
    pub spread_checkpoint: bool,
    /// Tag the snapshot (repeatable).
    #[arg(long)]
    pub tag: Vec<String>,
    /// Host name to record.
    #[arg(long)]
    pub host: Option<String>,
}

#[derive(Args, Debug)]
pub struct PgRestoreArgs {
    /// Snapshot id, prefix, or "latest" (a dump snapshot; with --data-dir,
    /// a base backup, default: the newest that fits the target).
    pub snapshot: Option<String>,
    #[command(flatten)]
    pub conn: PgConnArgs,
    /// Point-in-time restore: write a new data directory from a base
    /// backup, set up to replay archived WAL to the target on `pg_ctl start`.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(flatten)]
    pub target: PitrTargetArgs,
    /// At the target: pause (read-only, the default), promote or shutdown.
    #[arg(long, default_value = "pause", value_parser = ["pause", "promote", "shutdown"])]
    pub target_action: String,
    /// The restore_command to write (default: this cairn, this repository
    /// and the key file or password file of this run's environment).
    #[arg(long, value_name = "CMD")]
    pub restore_command: Option<String>,
    /// Turn WAL archiving off in the restored cluster: a copy restored next
    /// to a live server must not archive into the live server's repository
    /// (a later restore to "latest" would follow the copy's timeline).
    #[arg(long)]
    pub archive_off: bool,
    /// Database dump to restore (repeatable; default: all in the snapshot).
    #[arg(long = "database")]
    pub databases: Vec<String>,
    /// Restore into this database instead (created if missing).
    #[arg(long)]
    pub target_database: Option<String>,
    /// Drop existing objects first (pg_restore --clean --if-exists).
    #[arg(long)]
    pub clean: bool,
    /// Restore roles and tablespaces first.
    #[arg(long)]
    pub globals: bool,
    /// Skip ownership and privileges (for servers without the roles).
    #[arg(long)]
    pub no_owner: bool,
}

#[derive(Args, Debug)]
pub struct PgVerifyArgs {
    /// Snapshot id, prefix, or "latest".
    pub snapshot: String,
    /// Server for the throwaway restore (a database is created and dropped).
    #[arg(long, env = "CAIRN_PG_SCRATCH_DSN", hide_env_values = true)]
    pub scratch_dsn: Option<String>,
    /// Directory of pg_restore and psql (default: PATH).
    #[arg(long, env = "CAIRN_PG_BIN")]
    pub pg_bin: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Create a new random key file at this path and use it as the first key.
    #[arg(long)]
    pub generate_key_file: Option<PathBuf>,
    /// zstd level for new data (0 = no compression).
    #[arg(long, default_value_t = 3)]
    pub compression: i32,
    /// Target pack file size in MiB.
    #[arg(long, default_value_t = 16)]
    pub pack_size: u32,
    /// Average chunk size of the files profile in KiB (min avg/4, max avg*4;
    /// default 512/1024/8192 KiB). See cairn-tune.
    #[arg(long, value_name = "KIB")]
    pub files_chunk_kib: Option<u32>,
    /// Average chunk size of the database profile in KiB (default 16).
    #[arg(long, value_name = "KIB")]
    pub database_chunk_kib: Option<u32>,
    /// Forbid deletions (forget, prune, key removal) for every client.
    #[arg(long)]
    pub append_only: bool,
    /// Share chunking parameters with this repository (its key from
    /// CAIRN_FROM_PASSWORD_FILE, ..._COMMAND or CAIRN_FROM_KEY_FILE), so
    /// `copy` between them transfers only new chunks.
    #[arg(long, value_name = "REPO")]
    pub copy_chunker_params_from: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Add a key slot. The new secret comes from --new-key-file,
    /// CAIRN_NEW_PASSWORD_FILE, CAIRN_NEW_PASSWORD_COMMAND, or a prompt.
    Add(KeyAddArgs),
    /// List key slots.
    List,
    /// Remove a key slot (not the last one, not the one in use).
    Remove {
        /// Key id or unambiguous prefix.
        id: String,
    },
    /// Replace the key in use by a new one.
    Passwd(KeyAddArgs),
}

#[derive(Args, Debug)]
pub struct KeyAddArgs {
    /// Use (or create, if missing) this key file as the new secret.
    #[arg(long)]
    pub new_key_file: Option<PathBuf>,
    /// A label for the slot.
    #[arg(long, default_value = "")]
    pub label: String,
    /// Sessions opened with this key may not delete anything.
    #[arg(long)]
    pub append_only: bool,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    /// Back up a service instead of paths.
    #[command(subcommand)]
    pub source: Option<BackupSource>,
    /// Files and directories to back up.
    pub paths: Vec<PathBuf>,
    /// Exclude entries matching this pattern (repeatable).
    #[arg(short, long)]
    pub exclude: Vec<String>,
    /// Read exclude patterns from a file, one per line (repeatable).
    #[arg(long)]
    pub exclude_file: Vec<PathBuf>,
    /// Also exclude the source documents' temporary data:
    /// TEMP.*, tmp/, DR_TMP_DIR/, pending/.
    #[arg(long)]
    pub exclude_temp: bool,
    /// Like --exclude, ignoring case (repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub iexclude: Vec<String>,
    /// Leave out files larger than this (like 500M, 2G).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub exclude_larger_than: Option<u64>,
    /// Leave out directories that hold a file of this name; NAME:HEADER
    /// also needs the file to start with HEADER (repeatable).
    #[arg(long, value_name = "NAME[:HEADER]")]
    pub exclude_if_present: Vec<String>,
    /// Leave out directories tagged with a valid CACHEDIR.TAG.
    #[arg(long)]
    pub exclude_caches: bool,
    /// Stay on the file systems of the given paths (other mounts, mount
    /// points included, are left out).
    #[arg(short = 'x', long)]
    pub one_file_system: bool,
    /// Read the paths to back up from this file, one per line (blank lines
    /// and lines starting with # skipped), besides those given (repeatable).
    #[arg(long, value_name = "FILE")]
    pub files_from: Vec<PathBuf>,
    /// Like --files-from, with the paths separated by NUL bytes (`find
    /// -print0`), taken exactly as written.
    #[arg(long, value_name = "FILE")]
    pub files_from_raw: Vec<PathBuf>,
    /// Tag the snapshot (repeatable; `a,b` is two tags).
    #[arg(long)]
    pub tag: Vec<String>,
    /// Host name to record.
    #[arg(long)]
    pub host: Option<String>,
    /// Snapshot time instead of now: RFC 3339, or "YYYY-MM-DD HH:MM:SS" in
    /// UTC; both may give fractional seconds (".1"), which are kept.
    #[arg(long)]
    pub time: Option<String>,
    /// Parent snapshot for change detection ("none" to read everything).
    #[arg(long)]
    pub parent: Option<String>,
    /// Back up standard input as a stream.
    #[arg(long)]
    pub stdin: bool,
    /// Stream name for --stdin or --stdin-from-command.
    #[arg(long, default_value = "stdin")]
    pub stdin_name: String,
    /// Back up the stdout of the command given after `--`. A non-zero exit
    /// fails the backup and writes no snapshot.
    #[arg(long)]
    pub stdin_from_command: bool,
    /// Chunking profile for the stream ("files" or "database").
    #[arg(long)]
    pub profile: Option<String>,
    /// Worker threads (default: one per CPU).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Read and chunk everything, report what would be stored, and store
    /// nothing (no data, index or snapshot).
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// The command for --stdin-from-command.
    #[arg(last = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct TagArgs {
    /// Replace the tags with these (repeatable; `a,b` is two tags).
    #[arg(long, value_name = "TAG")]
    pub set: Vec<String>,
    /// Add these tags (repeatable; `a,b` is two tags).
    #[arg(long, value_name = "TAG")]
    pub add: Vec<String>,
    /// Remove these tags (repeatable; `a,b` is two tags).
    #[arg(long, value_name = "TAG")]
    pub remove: Vec<String>,
    #[command(flatten)]
    pub filter: SnapshotFilterArgs,
    /// Snapshots (ids or prefixes); none: every selected snapshot.
    pub snapshots: Vec<String>,
}

#[derive(Args, Debug)]
pub struct FindArgs {
    /// Patterns, as for --exclude: without `/` a name anywhere (`*.sql`),
    /// with `/` a path.
    #[arg(required = true)]
    pub patterns: Vec<String>,
    /// Only this snapshot (repeatable; default: every selected one).
    #[arg(long, value_name = "ID")]
    pub snapshot: Vec<String>,
    /// Match names ignoring case.
    #[arg(short = 'i', long)]
    pub ignore_case: bool,
    #[command(flatten)]
    pub filter: SnapshotFilterArgs,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    #[command(flatten)]
    pub filter: SnapshotFilterArgs,
    /// Snapshot id, prefix, or "latest".
    pub snapshot: String,
    /// Only below this path.
    pub path: Option<String>,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// What to count: repository (packs, dedup, index; the default without
    /// snapshots), restore-size (files and bytes a restore writes; the
    /// default with snapshots), files-by-contents (distinct contents) or
    /// raw-data (the stored blobs the snapshots need, and the stored bytes
    /// no other snapshot needs: what forget and prune of them would free).
    #[arg(long, value_parser = ["repository", "restore-size", "files-by-contents", "raw-data"])]
    pub mode: Option<String>,
    /// One line per snapshot instead of one total.
    #[arg(long)]
    pub per_snapshot: bool,
    #[command(flatten)]
    pub filter: SnapshotFilterArgs,
    /// Snapshots (ids, prefixes or latest); none with selection flags:
    /// every selected snapshot.
    pub snapshots: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RewriteArgs {
    /// Remove entries matching this pattern, and what is below them (as
    /// for backup's --exclude; repeatable).
    #[arg(short, long)]
    pub exclude: Vec<String>,
    /// Read patterns from a file, one per line (repeatable).
    #[arg(long, value_name = "FILE")]
    pub exclude_file: Vec<std::path::PathBuf>,
    /// Delete each old snapshot once its rewritten copy is stored.
    #[arg(long)]
    pub forget: bool,
    /// Only show what would be removed.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub filter: SnapshotFilterArgs,
    /// Snapshots (ids, prefixes or latest); none: every selected snapshot.
    pub snapshots: Vec<String>,
}

#[derive(Args, Debug)]
pub struct MountArgs {
    #[command(flatten)]
    pub filter: SnapshotFilterArgs,
    /// Let other users see the mount (their access is still checked
    /// against each file's recorded owner and mode; needs user_allow_other
    /// in /etc/fuse.conf unless run as root).
    #[arg(long)]
    pub allow_other: bool,
    /// An existing directory to mount on.
    pub mountpoint: PathBuf,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// First snapshot.
    pub a: String,
    /// Second snapshot.
    pub b: String,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct RestoreArgs {
    /// Restore into a service instead of a directory.
    #[command(subcommand)]
    pub into: Option<RestoreTarget>,
    /// Snapshot id, prefix, or "latest".
    #[arg(required = true)]
    pub snapshot: Option<String>,
    #[command(flatten)]
    pub filter: SnapshotFilterArgs,
    /// Directory to restore into.
    #[arg(short, long, required = true)]
    pub target: Option<PathBuf>,
    /// Only restore this snapshot path and what is below it, or with `*`,
    /// `?` or `[` the entries matching this pattern (as for backup's
    /// --exclude) and what is below them (repeatable); an include that
    /// matches nothing is an error.
    #[arg(short, long)]
    pub include: Vec<String>,
    /// Leave out entries matching this pattern (as for backup's
    /// --exclude) and what is below them (repeatable).
    #[arg(short, long)]
    pub exclude: Vec<String>,
    /// What to do with entries that already exist in the target: always
    /// (replace them), if-changed (keep files whose size and mtime match),
    /// if-newer (replace files older than the snapshot's), never.
    #[arg(long, default_value = "always", value_name = "WHEN")]
    pub overwrite: String,
    /// Remove entries of restored directories that the snapshot does not
    /// have (within what is included); also lets a file replace a non-empty
    /// directory.
    #[arg(long)]
    pub delete: bool,
    /// Read every restored file back and check it against the snapshot.
    #[arg(long)]
    pub verify: bool,
    /// How owners are restored: ids (the recorded uid/gid, like tar's
    /// --numeric-owner; needs root for other users' ids), names (by the
    /// recorded user and group names where this system knows them, else by
    /// id), or skip.
    #[arg(long, default_value = "ids", value_name = "HOW")]
    pub owners: String,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct DumpArgs {
    /// Write a component's objects in their own tools' format instead.
    #[command(subcommand)]
    pub format: Option<DumpFormat>,
    #[command(flatten)]
    pub filter: SnapshotFilterArgs,
    /// Snapshot id, prefix, or "latest".
    #[arg(required = true)]
    pub snapshot: Option<String>,
    /// Path of a file or name of a stream in the snapshot; a directory
    /// (or `/`) is written as a tar stream.
    #[arg(required = true)]
    pub path: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum DumpFormat {
    /// A Kubernetes backup as YAML files for `kubectl apply -f`, numbered
    /// in restore order (CRDs under DIR/0-crds, the rest under
    /// DIR/1-objects).
    Kubernetes(KubeDumpArgs),
    /// A MongoDB backup as a mongodump archive for `mongorestore
    /// --archive=FILE`.
    Mongodb(MongoDumpArgs),
}

#[derive(Args, Debug)]
pub struct MongoDumpArgs {
    /// Snapshot id, prefix, or "latest".
    pub snapshot: String,
    /// The archive file (created or replaced).
    pub archive: PathBuf,
    #[command(flatten)]
    pub pick: MongoPickArgs,
}

#[derive(Args, Debug)]
pub struct KubeDumpArgs {
    /// Snapshot id, prefix, or "latest".
    pub snapshot: String,
    /// A new or empty directory.
    pub dir: PathBuf,
    #[command(flatten)]
    pub pick: KubePickArgs,
}

/// Which objects of a Kubernetes backup a restore or dump takes.
#[derive(Args, Debug)]
pub struct KubePickArgs {
    /// Only objects in these namespaces (and their Namespace objects).
    #[arg(short, long = "namespace", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Only these kinds: Deployment, deployments, deployments.apps.
    #[arg(long = "kind", value_delimiter = ',')]
    pub kinds: Vec<String>,
    /// Leave these kinds out.
    #[arg(long = "exclude-kind", value_delimiter = ',')]
    pub exclude_kinds: Vec<String>,
    /// Also objects a controller owns (a ReplicaSet's pods); by default the
    /// restored controllers recreate them.
    #[arg(long)]
    pub include_owned: bool,
}

#[derive(Args, Debug)]
pub struct CatArgs {
    /// config, snapshot, index or pack.
    pub kind: String,
    /// Object id (not for config).
    pub id: Option<String>,
}

/// A `--keep-*` count: N >= 0, or "unlimited" / -1 for all.
fn parse_count(s: &str) -> Result<i64, String> {
    match s {
        "unlimited" => Ok(-1),
        _ => match s.parse::<i64>() {
            Ok(n) if n >= -1 => Ok(n),
            Ok(_) => Err("counts are N >= 0, or \"unlimited\" (-1)".into()),
            Err(e) => Err(e.to_string()),
        },
    }
}

/// A `--keep-within*` duration.
fn parse_within(s: &str) -> Result<CalendarDuration, String> {
    CalendarDuration::parse(s).map_err(|e| e.to_string())
}
