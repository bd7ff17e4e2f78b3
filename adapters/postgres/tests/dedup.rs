//! Day-to-day dedup of pg_dump streams with append-heavy change.

mod common;

use cairn_postgres::{backup, PgBackupOptions, PgConn, Tools};
use cairn_testkit::Pg;

#[test]
fn append_heavy_day_adds_a_small_multiple_of_the_changed_bytes() {
    let pg = Pg::start();
    pg.psql("postgres", "CREATE DATABASE app");
    let mut init = std::process::Command::new(pg.tool("pgbench"));
    init.args(["-i", "-q", "-s", "3", "app"]);
    pg.env(&mut init);
    let out = init.output().expect("pgbench");
    assert!(
        out.status.success(),
        "pgbench -i failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    pg.psql("app", "CREATE TABLE notes AS SELECT g AS id, md5(g::text) || repeat(md5((g * 7)::text), 3) AS body FROM generate_series(1, 50000) g");

    let repo = common::repo();
    let opts = PgBackupOptions {
        conn: PgConn::new(Some(format!(
            "host={} port={} user=postgres",
            pg.socket_dir.display(),
            pg.port
        ))),
        tools: Tools::new(Some(pg.bin.clone())),
        databases: vec!["app".into()],
        ..Default::default()
    };
    let day1 = backup(&repo, &opts).expect("day 1");
    assert!(
        day1.snapshot.summary.total_bytes > 30_000_000,
        "a dump of tens of MB"
    );

    // One day of append-heavy change: 1% new rows, a contiguous 0.1% updated.
    pg.psql(
        "app",
        "INSERT INTO pgbench_accounts SELECT 300000 + g, 1, 0, repeat(' ', 84) FROM generate_series(1, 3000) g;
         INSERT INTO notes SELECT 50000 + g, md5(g::text) || ' appended' FROM generate_series(1, 500) g;
         UPDATE pgbench_accounts SET abalance = abalance + 7 WHERE aid BETWEEN 1000 AND 1300;",
    );
    let changed: u64 = pg
        .psql(
            "app",
            "SELECT (SELECT sum(octet_length(t::text)) FROM pgbench_accounts t WHERE aid > 300000 OR aid BETWEEN 1000 AND 1300)
                  + (SELECT sum(octet_length(t::text)) FROM notes t WHERE id > 50000)",
        )
        .trim()
        .parse()
        .expect("number");
    let day2 = backup(&repo, &opts).expect("day 2");
    let added = day2.snapshot.summary.raw_bytes_added;
    // Measured with benches/pg-dedup.sh: about 1.2x the changed row bytes at
    // 16 KiB chunks. Allow 4x: the bound catches a broken profile (1 MiB
    // chunks would add tens of MB here) without flaking.
    assert!(
        added <= 4 * changed + 256 * 1024,
        "day 2 added {added} raw bytes for {changed} changed bytes"
    );
    assert!(
        added >= changed / 2,
        "the change itself must be stored: {added} < {changed}"
    );
    eprintln!(
        "changed {changed} bytes, day 2 added {added} raw bytes ({:.2}x)",
        added as f64 / changed as f64
    );
}
