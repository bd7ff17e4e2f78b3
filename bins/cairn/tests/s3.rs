//! S3 repositories and bucket backups through the binary, against moto.

mod common;
use cairn_testkit::Moto;
use common::*;

#[test]
fn s3_repository_and_bucket_backup_from_the_cli() {
    let m = Moto::start();
    m.create_bucket("repo");
    m.create_bucket("media");
    m.create_bucket("restored");
    let env = Env::new();
    let key = env.path("key");
    let repo = "s3://repo/customer-a";
    let run = |args: &[&str]| {
        env.cmd(args)
            .env("CAIRN_REPOSITORY", repo)
            .env("CAIRN_KEY_FILE", &key)
            .env("CAIRN_S3_ENDPOINT", &m.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .output()
            .expect("runs")
    };
    let o = run(&["init", "--generate-key-file", key.to_str().expect("utf8")]);
    assert_code(&o, 0);
    let src = env.path("src");
    make_source(&src);
    let o = run(&["backup", src.to_str().expect("utf8")]);
    assert_code(&o, 0);
    // A bucket with a few objects, written through the adapter's client.
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    let opts = cairn::S3Options {
        endpoint: Some(m.endpoint.clone()),
        ..Default::default()
    };
    let media = cairn_s3::Bucket::open("s3://media", &opts).expect("bucket");
    for (k, body) in [
        ("a.txt", "alpha"),
        ("dir/b.txt", "beta"),
        ("dir/c.txt", "gamma"),
    ] {
        media
            .put(k, Default::default(), body.len() as u64, |w| {
                w.write_all(body.as_bytes())
                    .map_err(|e| cairn::Error::io("test", e))?;
                Ok(body.len() as u64)
            })
            .expect("put");
    }
    let o = run(&["--json", "backup", "s3", "s3://media"]);
    assert_code(&o, 0);
    let snap = json(&o);
    assert_eq!(snap["source"], "s3");
    assert_eq!(snap["summary"]["streams"], 3);
    let o = run(&["--json", "backup", "s3", "s3://media"]);
    assert_eq!(
        json(&o)["summary"]["unchanged_files"],
        3,
        "unchanged objects skipped"
    );
    let o = run(&[
        "--json",
        "restore",
        "s3",
        "latest",
        "s3://restored/copy",
        "--prefix",
        "dir/",
    ]);
    assert_code(&o, 0);
    assert_eq!(json(&o)["objects"], 2);
    let restored = cairn_s3::Bucket::open("s3://restored/copy", &opts).expect("bucket");
    let keys: Vec<String> = restored
        .list()
        .expect("list")
        .into_iter()
        .map(|m| m.location.to_string())
        .collect();
    assert_eq!(keys, vec!["copy/dir/b.txt", "copy/dir/c.txt"]);
    let o = run(&["check", "--read-data"]);
    assert_code(&o, 0);
    let o = run(&["--json", "snapshots"]);
    assert_eq!(json(&o).as_array().map(Vec::len), Some(3));
    let o = env
        .cmd(&["snapshots"])
        .env("CAIRN_REPOSITORY", "s3://media/none")
        .env("CAIRN_KEY_FILE", &key)
        .env("CAIRN_S3_ENDPOINT", &m.endpoint)
        .output()
        .expect("runs");
    assert_code(&o, 10);
}

/// Retries through a faulty network are visible on stderr and bounded by
/// `--retries` and `--timeout`.
#[test]
fn retries_are_visible_and_configurable() {
    let m = Moto::start();
    m.create_bucket("flaky");
    let proxy = cairn_testkit::FaultProxy::start(
        &m.endpoint,
        cairn_testkit::FaultMix {
            probability: 0.3,
            seed: 11,
            stall: std::time::Duration::from_millis(1500),
        },
    );
    let env = Env::new();
    let key = env.path("key");
    let run = |args: &[&str]| {
        env.cmd(args)
            .env("CAIRN_REPOSITORY", "s3://flaky/r")
            .env("CAIRN_KEY_FILE", &key)
            .env("CAIRN_S3_ENDPOINT", &proxy.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .output()
            .expect("runs")
    };
    let flags = ["--retries", "20", "--timeout", "1"];
    let mut init = flags.to_vec();
    init.extend(["init", "--generate-key-file", key.to_str().expect("utf8")]);
    assert_code(&run(&init), 0);
    let src = env.path("src");
    make_source(&src);
    let mut backup = flags.to_vec();
    backup.extend(["backup", src.to_str().expect("utf8")]);
    let o = run(&backup);
    assert_code(&o, 0);
    assert!(
        stderr(&o).contains("retrying (attempt 2 of 20)"),
        "{}",
        stderr(&o)
    );
    proxy.set_probability(1.0);
    let o = run(&["--retries", "2", "--timeout", "1", "snapshots"]);
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains("gave up after 2 tries"),
        "{}",
        stderr(&o)
    );
}
