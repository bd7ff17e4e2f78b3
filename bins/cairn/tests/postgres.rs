//! `cairn backup|restore|verify postgres` against a real PostgreSQL server.

mod common;
use cairn_testkit::Pg;
use common::*;

fn socket_dsn(pg: &Pg, db: &str) -> String {
    format!(
        "host={} port={} user=postgres dbname={db}",
        pg.socket_dir.display(),
        pg.port
    )
}

#[test]
fn backup_verify_restore_postgres_from_the_cli() {
    let pg = Pg::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql("app", "CREATE TABLE t (id int primary key, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g;");
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    let o = env
        .cmd(&["init", "--generate-key-file", key.to_str().expect("utf8")])
        .env("CAIRN_REPOSITORY", &repo)
        .output()
        .expect("init");
    assert_code(&o, 0);
    let pg_bin = pg.bin.to_str().expect("utf8").to_string();
    let run = |args: &[&str]| {
        env.cmd(args)
            .env("CAIRN_REPOSITORY", &repo)
            .env("CAIRN_KEY_FILE", &key)
            .env("CAIRN_PG_BIN", &pg_bin)
            .env("CAIRN_PG_DSN", socket_dsn(&pg, "postgres"))
            .output()
            .expect("runs")
    };
    let o = run(&["--json", "backup", "postgres", "--database", "app"]);
    assert_code(&o, 0);
    let snap = json(&o);
    assert_eq!(snap["source"], "postgres");
    assert_eq!(snap["paths"][1], "postgres/app.dump");
    assert!(snap["info"]["postgres.server_version"]
        .as_str()
        .unwrap_or("")
        .starts_with("15"));

    let o = run(&[
        "--json",
        "verify",
        "postgres",
        "latest",
        "--scratch-dsn",
        &socket_dsn(&pg, "postgres"),
    ]);
    assert_code(&o, 0);
    let v = json(&o);
    assert_eq!(v["ok"], true);
    assert_eq!(v["databases"][0]["tables"][0]["table"], "public.t");
    assert_eq!(v["databases"][0]["tables"][0]["rows"], 5000);

    // A repository drill restores the dump into a scratch database there.
    let o = run(&[
        "--json",
        "drill",
        "--pg-scratch-dsn",
        &socket_dsn(&pg, "postgres"),
        "--pg-bin",
        &pg_bin,
    ]);
    assert_code(&o, 0);
    let d = json(&o);
    assert_eq!(d["components"][0]["kind"], "postgres");
    assert_eq!(
        d["components"][0]["databases"][0]["tables"][0]["rows"],
        5000
    );
    let left = pg.psql(
        "postgres",
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'cairn_verify_%'",
    );
    assert_eq!(left.trim(), "0", "the scratch database was dropped");

    pg.psql("postgres", "DROP DATABASE app");
    let o = run(&["restore", "postgres", "latest", "--database", "app"]);
    assert_code(&o, 0);
    assert_eq!(pg.psql("app", "SELECT count(*) FROM t").trim(), "5000");

    let o = run(&["backup", "postgres", "--database", "missing"]);
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains("\"missing\" does not exist"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    let o = run(&["--json", "snapshots"]);
    assert_eq!(json(&o).as_array().map(Vec::len), Some(1));
}

#[test]
fn a_password_on_the_command_line_is_refused() {
    let env = Env::new();
    let o = env
        .cmd(&[
            "backup",
            "postgres",
            "--dsn",
            "postgres://app:secret@127.0.0.1:1/app",
        ])
        .output()
        .expect("runs");
    assert_code(&o, 1);
    assert!(stderr(&o).contains("contains a password"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("secret"));
}
