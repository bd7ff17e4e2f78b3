//! Point-in-time recovery against a real PostgreSQL 15 cluster: WAL
//! archived by `archive_command = 'cairn wal push %p'`, base backups from
//! the live server, restores to a recorded time into fresh data
//! directories started with `pg_ctl`, and queries proving which rows
//! exist. When the tests run as root, the server and every cairn command
//! run as the `postgres` user (PostgreSQL refuses root), so the repository
//! belongs to that user.

use cairn_testkit::prom::{parse_metrics, sample};
use cairn_testkit::Pg;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct Rig {
    pg: Pg,
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Rig {
    fn repo(&self) -> PathBuf {
        self.dir.join("repo")
    }

    /// Runs cairn as the server's user with this rig's repository and key.
    fn cairn(&self, args: &[&str]) -> Output {
        let mut c = self.pg.as_server_user(Path::new("env"));
        c.arg(format!("CAIRN_KEY_FILE={}", self.dir.join("key").display()))
            .arg(format!(
                "CAIRN_CACHE_DIR={}",
                self.dir.join("cache").display()
            ))
            .arg(self.dir.join("cairn"))
            .arg("--repo")
            .arg(self.repo())
            .args(args);
        c.output().expect("run cairn")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cairn(args);
        assert!(
            out.status.success(),
            "cairn {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn sql(&self, sql: &str) -> String {
        self.pg.psql("postgres", sql).trim().to_string()
    }

    fn dsn(&self) -> String {
        format!(
            "host={} port={} user=postgres",
            self.pg.socket_dir.display(),
            self.pg.port
        )
    }

    /// Switches to a new segment and waits until the old one is archived.
    fn switch_and_wait(&self) -> String {
        let seg = self.sql("SELECT pg_walfile_name(pg_switch_wal());");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (done, failed) = {
                let r = self.sql(
                    "SELECT coalesce(last_archived_wal, ''), failed_count FROM pg_stat_archiver;",
                );
                let (a, f) = r.split_once('\t').unwrap_or((&r, "0"));
                (*a >= *seg, f.to_string())
            };
            if done {
                return seg;
            }
            assert!(
                Instant::now() < deadline,
                "segment {seg} was not archived within 60 s (failed pushes: {failed}); server log in {}",
                self.pg.data.parent().expect("step failed").join("server.log").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn rig() -> Rig {
    let tmp = tempfile::Builder::new()
        .prefix("cairn-pitr")
        .tempdir()
        .expect("tmp");
    let dir = tmp.path().to_path_buf();
    let push = dir.join("push.sh");
    std::fs::create_dir_all(&dir).expect("step failed");
    // A copy of the binary inside the rig: the server's user must be able
    // to run it, wherever the checkout is (a 0700 home or temp directory).
    std::fs::copy(env!("CARGO_BIN_EXE_cairn"), dir.join("cairn")).expect("copy the cairn binary");
    std::fs::write(
        &push,
        format!(
            "#!/bin/sh\nexec env CAIRN_KEY_FILE={key} CAIRN_CACHE_DIR={cache} {exe} --repo {repo} wal push \"$1\"\n",
            key = dir.join("key").display(),
            cache = dir.join("cache").display(),
            exe = dir.join("cairn").display(),
            repo = dir.join("repo").display()
        ),
    )
    .expect("step failed");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&push, std::fs::Permissions::from_mode(0o755)).expect("step failed");
    let pg = Pg::start_with(&format!(
        "-c archive_mode=on -c wal_level=replica -c archive_timeout=0 -c archive_command='{} %p'",
        push.display()
    ));
    pg.owned_dir(&dir);
    let r = Rig { pg, dir, _tmp: tmp };
    let key = r.dir.join("key");
    r.ok(&[
        "init",
        "--generate-key-file",
        key.to_str().expect("step failed"),
    ]);
    r
}

fn start_restored(pg: &Pg, data: &Path) -> (u16, PathBuf) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("step failed")
        .local_addr()
        .expect("step failed")
        .port();
    let log = data.with_extension("log");
    let opts = format!(
        "-p {port} -k {} -c listen_addresses='' -c archive_mode=off",
        pg.socket_dir.display()
    );
    let out = pg
        .as_server_user(&pg.tool("pg_ctl"))
        .arg("-D")
        .arg(data)
        .args(["-o", &opts, "-l"])
        .arg(&log)
        .args(["-w", "-t", "120", "start"])
        .output()
        .expect("step failed");
    assert!(
        out.status.success(),
        "restored cluster did not start: {}; log: {}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    (port, log)
}

fn query_restored(pg: &Pg, port: u16, sql: &str) -> String {
    let mut c = Command::new(pg.tool("psql"));
    c.args(["-X", "-At", "-d", "postgres", "-c", sql])
        .env("PGHOST", &pg.socket_dir)
        .env("PGPORT", port.to_string())
        .env("PGUSER", "postgres");
    let out = c.output().expect("step failed");
    assert!(
        out.status.success(),
        "query failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn stop_restored(pg: &Pg, data: &Path) {
    let _ = pg
        .as_server_user(&pg.tool("pg_ctl"))
        .arg("-D")
        .arg(data)
        .args(["-m", "immediate", "-w", "stop"])
        .output();
}

/// Restores into a new data directory, starts it, waits until it is
/// promoted, runs `sql`, stops it.
fn restore_and_query(r: &Rig, name: &str, target: &[&str], sql: &str) -> String {
    let data = r.dir.join(name);
    let mut args = vec![
        "restore",
        "postgres",
        "--data-dir",
        data.to_str().expect("step failed"),
    ];
    args.extend_from_slice(target);
    args.extend_from_slice(&["--target-action", "promote", "--archive-off"]);
    r.ok(&args);
    let (port, log) = start_restored(&r.pg, &data);
    let deadline = Instant::now() + Duration::from_secs(120);
    while query_restored(&r.pg, port, "SELECT pg_is_in_recovery();") == "t" {
        assert!(
            Instant::now() < deadline,
            "replay did not finish; log: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let got = query_restored(&r.pg, port, sql);
    stop_restored(&r.pg, &data);
    got
}

fn snapshot_ids(r: &Rig, source: &str) -> Vec<(String, String)> {
    let v: serde_json::Value =
        serde_json::from_str(&r.ok(&["--json", "snapshots"])).expect("step failed");
    v.as_array()
        .expect("step failed")
        .iter()
        .filter(|s| s["source"] == source)
        .map(|s| {
            (
                s["id"].as_str().expect("step failed").to_string(),
                s["paths"][0].as_str().expect("step failed").to_string(),
            )
        })
        .collect()
}

#[test]
fn archive_restore_to_a_time_retain_a_window_and_stop_at_a_gap() {
    let r = rig();
    let pgbench = r.pg.tool("pgbench");
    let mut bench = r.pg.as_server_user(&pgbench);
    r.pg.env(&mut bench);
    let out = bench
        .args(["-i", "-s", "2", "-q", "postgres"])
        .output()
        .expect("step failed");
    assert!(
        out.status.success(),
        "pgbench -i: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The table exists at every point a drill may pick.
    r.sql("CREATE TABLE marks (i int);");
    r.ok(&["backup", "postgres-base", "--dsn", &r.dsn()]);

    // Rows 1..100 committed before the recorded time, 101..200 after it,
    // with pgbench load in between so that the WAL spans segments.
    r.sql("INSERT INTO marks SELECT generate_series(1, 100);");
    let mut bench = r.pg.as_server_user(&pgbench);
    r.pg.env(&mut bench);
    let out = bench
        .args(["-T", "2", "-c", "2", "postgres"])
        .output()
        .expect("step failed");
    assert!(
        out.status.success(),
        "pgbench: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    r.switch_and_wait();
    std::thread::sleep(Duration::from_millis(1100));
    let t = r.sql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"');");
    std::thread::sleep(Duration::from_millis(1100));
    r.sql("INSERT INTO marks SELECT generate_series(101, 200);");
    r.switch_and_wait();
    // A second base backup, after the recorded time: a restore to that
    // time must not use it.
    r.ok(&["backup", "postgres-base", "--dsn", &r.dsn()]);
    r.sql("INSERT INTO marks SELECT generate_series(201, 300);");
    r.switch_and_wait();
    r.sql("INSERT INTO marks SELECT generate_series(301, 400);");
    r.switch_and_wait();

    let metrics = r.dir.join("metrics");
    let st: serde_json::Value = serde_json::from_str(&r.ok(&[
        "--json",
        "--metrics-dir",
        metrics.to_str().expect("step failed"),
        "wal",
        "status",
        "--max-age",
        "1h",
    ]))
    .expect("step failed");
    assert_eq!(st["ok"], true, "{st}");
    let prom = std::fs::read_dir(&metrics)
        .expect("step failed")
        .next()
        .expect("step failed")
        .expect("step failed")
        .path();
    let samples = parse_metrics(&prom);
    assert_eq!(sample(&samples, "cairn_wal_ok", None), Some(1.0));
    assert_eq!(sample(&samples, "cairn_wal_base_backups", None), Some(2.0));
    let last =
        sample(&samples, "cairn_wal_last_archived_timestamp_seconds", None).expect("step failed");
    assert!(
        (cairn::now_ns() as f64 / 1e9 - last).abs() < 600.0,
        "{last}"
    );
    assert_eq!(st["base_backups"], 2);
    assert!(st["gaps"].as_array().expect("step failed").is_empty());

    // To the recorded time: exactly the rows committed before it.
    let got = restore_and_query(
        &r,
        "at-t",
        &["--target-time", &t],
        "SELECT count(*), max(i) FROM marks;",
    );
    assert_eq!(got, "100|100", "restore to {t}");
    // To the latest point: everything.
    let got = restore_and_query(&r, "latest", &[], "SELECT count(*) FROM marks;");
    assert_eq!(got, "400");

    // The drill: a random point, a check query, a report.
    let drill: serde_json::Value = serde_json::from_str(&r.ok(&[
        "--json",
        "wal",
        "drill",
        "--seed",
        "7",
        "--pg-bin",
        r.pg.bin.to_str().expect("step failed"),
        "--scratch-dir",
        r.dir.to_str().expect("step failed"),
        "--check-sql",
        "SELECT count(*) FROM marks",
    ]))
    .expect("step failed");
    assert_eq!(drill["ok"], true, "{drill}");
    let n: u64 = drill["check_output"]
        .as_str()
        .expect("step failed")
        .parse()
        .expect("step failed");
    assert!(n.is_multiple_of(100) && n <= 400, "{drill}");
    assert!(drill["rto_ms"].as_u64().expect("step failed") > 0);

    // The window: the newest base backup ended before it is kept, with
    // every WAL file after its start; the older base and WAL go.
    std::thread::sleep(Duration::from_millis(1100));
    let before = snapshot_ids(&r, "postgres-wal");
    let f: serde_json::Value =
        serde_json::from_str(&r.ok(&["--json", "wal", "forget", "--keep-within", "1s"]))
            .expect("step failed");
    assert_eq!(
        f["bases_kept"].as_array().expect("step failed").len(),
        1,
        "{f}"
    );
    assert_eq!(
        f["bases_forgotten"].as_array().expect("step failed").len(),
        1,
        "{f}"
    );
    let gone = f["wal_forgotten"].as_array().expect("step failed").len();
    assert!(gone > 0, "{f}");
    assert_eq!(snapshot_ids(&r, "postgres-wal").len(), before.len() - gone);
    r.ok(&["prune"]);
    let got = restore_and_query(&r, "after-forget", &[], "SELECT count(*) FROM marks;");
    assert_eq!(
        got, "400",
        "the window's restore still works after forget and prune"
    );
    let out = r.cairn(&[
        "restore",
        "postgres",
        "--data-dir",
        r.dir.join("too-old").to_str().expect("step failed"),
        "--target-time",
        &t,
    ]);
    assert!(
        !out.status.success(),
        "a time before the window's base backup cannot be restored"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no base backup can reach"));

    // A gap: forget one segment after the kept base backup. Restores past
    // it refuse, naming it, before writing anything; status reports it.
    let wal = snapshot_ids(&r, "postgres-wal");
    let mut segs: Vec<&(String, String)> = wal
        .iter()
        .filter(|(_, p)| p.len() == "postgres-wal/".len() + 24)
        .collect();
    segs.sort_by(|a, b| a.1.cmp(&b.1));
    let victim = segs[segs.len() - 2].clone();
    r.ok(&["forget", &victim.0]);
    let name = victim.1.trim_start_matches("postgres-wal/").to_string();
    let data = r.dir.join("gap");
    let out = r.cairn(&[
        "restore",
        "postgres",
        "--data-dir",
        data.to_str().expect("step failed"),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&name),
        "the error names the missing segment {name}: {err}"
    );
    assert!(!data.exists(), "nothing written");
    let out = r.cairn(&["--json", "wal", "status"]);
    assert_eq!(out.status.code(), Some(6));
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).expect("step failed");
    assert_eq!(st["gaps"][0][0], name.as_str(), "{st}");
}

#[test]
fn pushes_are_idempotent_refuse_other_bytes_and_survive_a_kill() {
    let r = rig();
    // The base backup as a plan component; plan verify checks it with
    // pg_verifybackup.
    let plan = r.dir.join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "name = \"pitr\"\nrepository = \"{repo}\"\nkey_file = \"{key}\"\nstate_dir = \"{state}\"\n\n\
             [[component]]\nname = \"base\"\nkind = \"postgres-base\"\n[component.settings]\n\
             dsn = \"{dsn}\"\npg_bin = \"{bin}\"\n",
            repo = r.repo().display(),
            key = r.dir.join("key").display(),
            state = r.dir.join("state").display(),
            dsn = r.dsn(),
            bin = r.pg.bin.display()
        ),
    )
    .expect("step failed");
    r.pg.owned_dir(&r.dir);
    r.ok(&["plan", "run", plan.to_str().expect("step failed")]);
    let verified = r.ok(&["plan", "verify", plan.to_str().expect("step failed")]);
    assert!(verified.contains("pg_verifybackup"), "{verified}");
    let seg = r.switch_and_wait();
    let count = || snapshot_ids(&r, "postgres-wal").len();
    let stored = count();
    // The listing counts WAL files instead of flooding with them.
    let listed = r.ok(&["snapshots"]);
    assert!(!listed.contains("postgres-wal/"), "{listed}");
    assert!(
        listed.contains(&format!("and {stored} archived WAL files")),
        "{listed}"
    );
    assert!(r
        .ok(&["snapshots", "--wal"])
        .contains(&format!("postgres-wal/{seg}")));
    let copy = r.dir.join("copy");
    r.pg.owned_dir(&copy);
    let file = copy.join(&seg);
    r.ok(&["wal", "fetch", &seg, file.to_str().expect("step failed")]);
    let bytes = std::fs::read(&file).expect("step failed");
    assert_eq!(bytes.len(), 16 << 20);
    // The same bytes again: success, nothing written.
    let out = r.cairn(&["wal", "push", file.to_str().expect("step failed")]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already archived"));
    assert_eq!(count(), stored);
    // Other bytes under the same name: refused loudly, nothing written.
    let mut other = bytes.clone();
    other[100] ^= 1;
    std::fs::write(&file, &other).expect("step failed");
    let out = r.cairn(&["wal", "push", file.to_str().expect("step failed")]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("different"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count(), stored);
    // A fetch of a name never archived: exit 1, no file.
    let missing = copy.join("0000000100000000000000EE");
    let out = r.cairn(&[
        "wal",
        "fetch",
        "0000000100000000000000EE",
        missing.to_str().expect("step failed"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!missing.exists());

    // Killed pushes: a fetch afterwards returns the exact bytes or nothing.
    let name = "0000000100000000000000F0";
    let big: Vec<u8> = (0..16u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let src = copy.join(name);
    std::fs::write(&src, &big).expect("step failed");
    let out_file = copy.join("fetched");
    for delay_ms in [5u64, 30, 80, 150, 300] {
        let mut c = r.pg.as_server_user(Path::new("env"));
        c.arg(format!("CAIRN_KEY_FILE={}", r.dir.join("key").display()))
            .arg(format!("CAIRN_CACHE_DIR={}", r.dir.join("cache").display()))
            .arg(r.dir.join("cairn"))
            .arg("--repo")
            .arg(r.repo())
            .args(["wal", "push", src.to_str().expect("step failed")]);
        let mut child = c.spawn().expect("step failed");
        std::thread::sleep(Duration::from_millis(delay_ms));
        // Kill the whole process tree (runuser and cairn below it).
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", &format!("wal push {}", src.display())])
            .status();
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_file(&out_file);
        let out = r.cairn(&[
            "wal",
            "fetch",
            name,
            out_file.to_str().expect("step failed"),
        ]);
        match out.status.code() {
            Some(0) => assert!(
                std::fs::read(&out_file).expect("step failed") == big,
                "a fetch after a killed push returned other bytes"
            ),
            Some(1) => assert!(!out_file.exists()),
            c => panic!(
                "fetch after a killed push: {c:?} {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
    r.ok(&["wal", "push", src.to_str().expect("step failed")]);
    let _ = std::fs::remove_file(&out_file);
    r.ok(&[
        "wal",
        "fetch",
        name,
        out_file.to_str().expect("step failed"),
    ]);
    assert!(std::fs::read(&out_file).expect("step failed") == big);
    let check = r.cairn(&["check"]);
    assert!(
        check.status.success(),
        "check after killed pushes: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}
