//! A whole platform through `cairn plan`: a real PostgreSQL 15 cluster, a
//! real Redis server (through a `command` component), a moto S3 bucket and
//! a file tree, backed up in one cold run and restored into fresh servers,
//! then compared component by component with the source.

mod common;
use cairn_testkit::{Moto, Pg, Redis};
use common::*;
use std::path::Path;

fn socket_dsn(pg: &Pg, db: &str) -> String {
    format!(
        "host={} port={} user=postgres dbname={db}",
        pg.socket_dir.display(),
        pg.port
    )
}

fn put(bucket: &cairn_s3::Bucket, key: &str, body: &[u8]) {
    let b = body.to_vec();
    bucket
        .put(key, Default::default(), b.len() as u64, move |w| {
            w.write_all(&b).map_err(|e| cairn::Error::io("test", e))?;
            Ok(b.len() as u64)
        })
        .expect("put");
}

fn objects(bucket: &cairn_s3::Bucket) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = bucket
        .list()
        .expect("list")
        .into_iter()
        .map(|m| (m.location.to_string(), m.size))
        .collect();
    v.sort();
    v
}

fn table_digest(pg: &Pg, db: &str) -> String {
    pg.psql(
        db,
        "SELECT count(*), md5(string_agg(id::text || ':' || v, ',' ORDER BY id)) FROM t",
    )
}

fn plan_text(env: &Env, src: &Pg, dst: &Pg, redis: &Redis, m: &Moto) -> String {
    let p = |rel: &str| env.path(rel).display().to_string();
    format!(
        r#"name = "platform"
repository = "{repo}"
key_file = "{key}"
state_dir = "{state}"

[hooks]
pre = "echo paused >> {log}"
post = "echo resumed $CAIRN_RUN_STATUS >> {log}"

[restore]
order = ["content", "postgres", "media", "redis"]
checklist = ["open the application and log in"]

[[component]]
name = "postgres"
kind = "postgres"
older_than = ["content"]
keep = {{ daily = 7 }}
[component.settings]
dsn = "{src_dsn}"
databases = ["app"]
pg_bin = "{pg_bin}"
scratch_dsn = "{src_dsn}"
[component.restore]
dsn = "{dst_dsn}"

[[component]]
name = "redis"
kind = "command"
keep = {{ daily = 7 }}
[component.settings]
command = "{redis_cli} --rdb -"
stream = "redis/dump.rdb"
timeout = "5m"
[component.restore]
path = "{rdb}"

[[component]]
name = "media"
kind = "s3"
keep = {{ daily = 30 }}
[component.settings]
url = "s3://media"
endpoint = "{endpoint}"
drill_url = "s3://media-restored/drills"
[component.restore]
url = "s3://media-restored"
endpoint = "{endpoint}"

[[component]]
name = "content"
kind = "files"
keep = "forever"
[component.settings]
paths = ["{content}"]
exclude_preset = "seed-temp"
[component.restore]
target = "{restored}"
"#,
        repo = p("repo"),
        key = p("key"),
        state = p("state"),
        log = p("hooks.log"),
        src_dsn = socket_dsn(src, "postgres"),
        dst_dsn = socket_dsn(dst, "postgres"),
        pg_bin = src.bin.display(),
        redis_cli = redis.cli_prefix(),
        rdb = p("restored-redis/dump.rdb"),
        endpoint = m.endpoint,
        content = p("content"),
        restored = p("restored"),
    )
}

#[test]
fn a_platform_plan_backs_up_and_restores_every_component_into_fresh_servers() {
    let src = Pg::start();
    src.psql("postgres", "CREATE DATABASE app");
    src.psql(
        "app",
        "CREATE TABLE t (id int primary key, v text); \
         INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g;",
    );
    let redis = Redis::start();
    for i in 0..500 {
        redis.cli(&["SET", &format!("session:{i}"), &format!("state-{i}")]);
    }
    redis.cli(&["RPUSH", "queue", "a", "b", "c"]);
    let m = Moto::start();
    m.create_bucket("media");
    m.create_bucket("media-restored");
    let opts = cairn::S3Options {
        endpoint: Some(m.endpoint.clone()),
        ..Default::default()
    };
    let media = cairn_s3::Bucket::open("s3://media", &opts).expect("bucket");
    put(&media, "avatars/1.png", &[7u8; 70_000]);
    put(&media, "docs/contract.pdf", b"%PDF-1.7 contract");
    put(&media, "readme.txt", b"hello");
    let env = Env::new();
    let content = env.path("content");
    std::fs::create_dir_all(content.join("cases/tmp")).expect("mkdir");
    std::fs::write(content.join("cases/42.bin"), vec![3u8; 300_000]).expect("write");
    std::fs::write(content.join("cases/TEMP.upload"), b"partial").expect("write");
    std::fs::write(content.join("cases/tmp/scratch"), b"scratch").expect("write");
    let key = env.path("key");
    env.init_repo(&env.path("repo"), &key);
    let dst = Pg::start();
    let plan = env.path("platform.toml");
    std::fs::write(&plan, plan_text(&env, &src, &dst, &redis, &m)).expect("plan");
    let plan_s = plan.to_str().expect("utf8");
    let run = |args: &[&str]| env.cmd(args).output().expect("runs");

    let o = run(&["--json", "plan", "run", plan_s]);
    assert_code(&o, 0);
    let r = json(&o);
    assert_eq!(r["status"], "ok");
    assert_eq!(r["mode"], "cold");
    assert!(r["consistency"].as_str().unwrap_or("").starts_with("cold"));
    let c = &r["components"];
    assert_eq!(c.as_array().map(Vec::len), Some(4));
    let pg_marker = &c[0]["marker"];
    assert!(
        pg_marker["wal_lsn"].as_str().unwrap_or("").contains('/'),
        "{pg_marker}"
    );
    assert!(pg_marker["next_xid"]
        .as_str()
        .is_some_and(|x| x.parse::<u64>().is_ok()));
    assert!(pg_marker["wal_lsn_end"].as_str().is_some());
    assert_eq!(c[2]["marker"]["objects"], "3");
    assert!(c[2]["marker"]["listed_at"].as_str().is_some());
    assert!(c[3]["marker"]["walk_start"].as_str().is_some());
    assert!(c[3]["marker"]["walk_end"].as_str().is_some());
    for comp in c.as_array().expect("components") {
        assert!(comp["started"].as_str() <= comp["ended"].as_str(), "{comp}");
    }
    assert_eq!(
        std::fs::read_to_string(env.path("hooks.log")).expect("log"),
        "paused\nresumed ok\n"
    );

    let o = run(&["--json", "plan", "verify", plan_s]);
    assert_code(&o, 0);
    let v = json(&o);
    assert_eq!(v["ok"], true);
    let pg_v = v["components"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "postgres"))
        .expect("postgres verified");
    assert_eq!(pg_v["databases"][0]["tables"][0]["rows"], 20000);

    let o = run(&["plan", "status", plan_s]);
    assert_code(&o, 0);

    // Restore into fresh servers.
    let o = run(&["--json", "plan", "restore", plan_s]);
    assert_code(&o, 0);
    let rr = json(&o);
    assert_eq!(rr["ok"], true, "{rr}");
    let order: Vec<&str> = rr["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(order, ["content", "postgres", "media", "redis"]);
    assert_eq!(rr["checklist"][0], "open the application and log in");

    assert_eq!(table_digest(&dst, "app"), table_digest(&src, "app"));
    let restored_redis = Redis::start_with_rdb(&env.path("restored-redis/dump.rdb"));
    assert_eq!(restored_redis.cli(&["DBSIZE"]), "501");
    assert_eq!(restored_redis.cli(&["GET", "session:499"]), "state-499");
    assert_eq!(
        restored_redis.cli(&["LRANGE", "queue", "0", "-1"]),
        "a\nb\nc"
    );
    let restored_media = cairn_s3::Bucket::open("s3://media-restored", &opts).expect("bucket");
    assert_eq!(objects(&restored_media), objects(&media));
    let root = env
        .path("restored")
        .join(content.strip_prefix("/").expect("absolute"));
    assert_eq!(
        std::fs::read(root.join("cases/42.bin")).expect("restored"),
        vec![3u8; 300_000]
    );
    assert!(
        !root.join("cases/TEMP.upload").exists(),
        "TEMP. files are excluded"
    );
    assert!(!root.join("cases/tmp").exists(), "tmp/ is excluded");

    // A drill of every component: PostgreSQL into a scratch database with
    // row counts, the bucket into a scratch prefix (deleted afterwards),
    // the files into a scratch directory, the Redis dump re-read.
    let o = run(&["--json", "plan", "drill", plan_s, "--pick", "random:1"]);
    assert_code(&o, 0);
    let d = json(&o);
    assert_eq!(d["ok"], true, "{d}");
    let by_name = |n: &str| {
        d["components"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == n))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(
        by_name("postgres")["databases"][0]["tables"][0]["rows"],
        20000
    );
    assert_eq!(by_name("media")["objects"], 3);
    assert_eq!(by_name("content")["verified"], 1);
    let drills = cairn_s3::Bucket::open("s3://media-restored/drills", &opts).expect("bucket");
    assert!(
        drills.list().expect("list").is_empty(),
        "the drill cleaned up"
    );

    let o = env
        .cmd(&["check", "--read-data"])
        .env("CAIRN_REPOSITORY", env.path("repo"))
        .env("CAIRN_KEY_FILE", &key)
        .output()
        .expect("check");
    assert_code(&o, 0);
    assert!(
        Path::new(&env.path("state")).exists(),
        "run records are kept"
    );
}
