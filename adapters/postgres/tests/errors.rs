//! Failure paths: each is a clear error, and earlier snapshots stay intact.

mod common;
use cairn::Error;
use cairn_postgres::{backup, verify, PgBackupOptions, PgConn, Tools};
use cairn_testkit::Pg;

fn opts(pg: &Pg, dsn: String, dbs: &[&str]) -> PgBackupOptions {
    PgBackupOptions {
        conn: PgConn::new(Some(dsn)),
        tools: Tools::new(Some(pg.bin.clone())),
        databases: dbs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

#[test]
fn wrong_password_and_unknown_database_fail_clearly() {
    let pg = Pg::start();
    pg.psql(
        "postgres",
        "CREATE ROLE app LOGIN PASSWORD 'right'; CREATE DATABASE app OWNER app;",
    );
    let repo = common::repo();
    let good = backup(
        &repo,
        &opts(&pg, pg.tcp_dsn("app", "right", "app"), &["app"]),
    )
    .expect("backup with the right password");
    let err = backup(
        &repo,
        &opts(&pg, pg.tcp_dsn("app", "wrong", "app"), &["app"]),
    )
    .expect_err("wrong password");
    let msg = err.to_string();
    assert!(msg.contains("password authentication failed"), "{msg}");
    assert!(
        !msg.contains("wrong"),
        "the password never appears in errors: {msg}"
    );
    let err = backup(
        &repo,
        &opts(&pg, pg.tcp_dsn("app", "right", "app"), &["nope"]),
    )
    .expect_err("unknown db");
    assert!(
        matches!(err, Error::Source { .. }) && err.to_string().contains("\"nope\" does not exist"),
        "{err}"
    );
    assert_eq!(
        repo.snapshots().expect("list").len(),
        1,
        "no snapshot from failed backups"
    );
    let tools = Tools::new(Some(pg.bin.clone()));
    assert_eq!(
        verify(&repo, &good.id, &tools, None).expect("verify").len(),
        1
    );
}

fn pg_dump_child(db: &str) -> Option<i32> {
    let me = std::process::id().to_string();
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let pid = e.file_name().to_string_lossy().to_string();
        if pid.parse::<i32>().is_err() {
            continue;
        }
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let ppid = stat
            .rsplit(')')
            .next()
            .and_then(|s| s.split_whitespace().nth(1))
            .unwrap_or("");
        let cmd = String::from_utf8_lossy(&cmd);
        if ppid == me && cmd.contains("pg_dump") && cmd.contains(db) {
            return pid.parse().ok();
        }
    }
    None
}

#[test]
fn killed_pg_dump_fails_the_backup_and_keeps_earlier_snapshots() {
    let pg = Pg::start();
    pg.psql("postgres", "CREATE DATABASE big");
    pg.psql("big", "CREATE TABLE t AS SELECT g AS id, md5(g::text) || repeat('y', 200) AS v FROM generate_series(1, 600000) g");
    let repo = common::repo();
    let dsn = format!(
        "host={} port={} user=postgres",
        pg.socket_dir.display(),
        pg.port
    );
    let first = backup(&repo, &opts(&pg, dsn.clone(), &["big"])).expect("first backup");
    // Slow the pipeline down so the kill lands mid-dump: a lock makes
    // pg_dump wait until we release it.
    let result = std::thread::scope(|s| {
        let h = s.spawn(|| backup(&repo, &opts(&pg, dsn.clone(), &["big"])));
        let mut pid = None;
        for _ in 0..200 {
            pid = pg_dump_child("big");
            if pid.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let pid = pid.expect("pg_dump started");
        std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .expect("kill");
        h.join().expect("thread")
    });
    let err = result.expect_err("a killed pg_dump must fail the backup");
    assert!(matches!(err, Error::Source { .. }), "{err}");
    assert!(
        err.to_string().contains("signal: 9") || err.to_string().contains("SIGKILL"),
        "{err}"
    );
    let snaps = repo.snapshots().expect("list");
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].0, first.id);
    let tools = Tools::new(Some(pg.bin.clone()));
    assert!(
        verify(&repo, &first.id, &tools, None).expect("earlier snapshot verifies")[0].toc_entries
            > 0
    );
}
