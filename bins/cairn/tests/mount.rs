//! `cairn mount` through a real FUSE mount: the fixed levels, whole and
//! random-access reads of files and streams, read-only refusal, and a
//! clean unmount on SIGTERM.

mod common;
use common::*;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

/// Waits until `cairn mount` has mounted `dir` (its `ids` appears).
fn wait_mounted(dir: &Path, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.join("ids").exists() {
        if let Ok(Some(st)) = child.try_wait() {
            panic!("cairn mount exited early with {st}");
        }
        assert!(Instant::now() < deadline, "{} never mounted", dir.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn mount_shows_snapshots_by_id_host_tag_and_time_with_random_access() {
    assert!(
        is_root() && Path::new("/dev/fuse").exists(),
        "this test mounts FUSE for real: run it as root on a machine with /dev/fuse \
         (apt-get install fuse3; scripts/test does)"
    );
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    env.init_repo(&repo, &key);
    let src = env.path("src");
    std::fs::create_dir_all(src.join("d")).expect("mkdir");
    let mut rng = Rng(42);
    let big = rng.bytes(5 << 20);
    std::fs::write(src.join("d/big.bin"), &big).expect("write");
    std::fs::write(src.join("small.txt"), b"hello mount\n").expect("write");
    std::os::unix::fs::symlink("small.txt", src.join("link")).expect("symlink");
    std::fs::create_dir_all(src.join("many")).expect("mkdir");
    for i in 0..500 {
        std::fs::write(src.join(format!("many/f{i:04}")), vec![b'x'; i]).expect("write");
    }
    let s = src.to_str().expect("utf8");
    let o = env.run_with(
        &repo,
        &key,
        &["--json", "backup", s, "--host", "web1", "--tag", "prod"],
    );
    assert_code(&o, 0);
    let id = json(&o)["snapshot_id"].as_str().expect("id")[..8].to_string();
    let o = env
        .cmd(&[
            "backup",
            "--stdin",
            "--stdin-name",
            "db/dump.sql",
            "--host",
            "db1",
        ])
        .env("CAIRN_REPOSITORY", &repo)
        .env("CAIRN_KEY_FILE", &key)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .expect("stdin")
                .write_all(b"CREATE TABLE t();\n")?;
            c.wait_with_output()
        })
        .expect("stream backup");
    assert_code(&o, 0);

    let mnt = env.path("mnt");
    std::fs::create_dir_all(&mnt).expect("mkdir");
    let mut child = env
        .cmd(&["mount", mnt.to_str().expect("utf8")])
        .env("CAIRN_REPOSITORY", &repo)
        .env("CAIRN_KEY_FILE", &key)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mount starts");
    wait_mounted(&mnt, &mut child);
    let checks = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut top: Vec<String> = std::fs::read_dir(&mnt)
            .expect("readdir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        top.sort();
        assert_eq!(top, ["hosts", "ids", "snapshots", "tags"]);
        let in_snap = |base: &Path| base.join(src.strip_prefix("/").expect("absolute"));
        let by_id = in_snap(&mnt.join("ids").join(&id));
        assert_eq!(
            std::fs::read(by_id.join("small.txt")).expect("read"),
            b"hello mount\n"
        );
        assert_eq!(
            std::fs::read_link(by_id.join("link")).expect("link"),
            Path::new("small.txt")
        );
        // The same file through the host, tag and time views.
        for view in ["hosts/web1/latest", "tags/prod/latest"] {
            let p = in_snap(&mnt.join(view)).join("d/big.bin");
            assert_eq!(std::fs::read(&p).expect("read big"), big, "{view}");
        }
        // Every name of a large directory is found by name (and only those).
        for i in (0..500).step_by(7) {
            let m = std::fs::metadata(by_id.join(format!("many/f{i:04}"))).expect("stat many");
            assert_eq!(m.len(), i as u64);
        }
        assert!(std::fs::metadata(by_id.join("many/f0500")).is_err());
        assert!(std::fs::metadata(by_id.join("nope")).is_err());
        assert!(std::fs::metadata(mnt.join("ids/ffffffff")).is_err());
        assert_eq!(
            std::fs::read_dir(by_id.join("many"))
                .expect("readdir")
                .count(),
            500
        );
        let meta = std::fs::metadata(by_id.join("d/big.bin")).expect("stat");
        assert_eq!(meta.len(), big.len() as u64);
        // Random access: reads that start inside a chunk and cross one.
        let mut f = std::fs::File::open(by_id.join("d/big.bin")).expect("open");
        for &(at, n) in &[
            (3_000_001u64, 70_000usize),
            (17, 5),
            (big.len() as u64 - 10, 10),
        ] {
            f.seek(SeekFrom::Start(at)).expect("seek");
            let mut buf = vec![0u8; n];
            f.read_exact(&mut buf).expect("read range");
            assert_eq!(buf, big[at as usize..at as usize + n], "at {at}");
        }
        // Streams read like files; the time view lists both snapshots.
        let stream = mnt.join("hosts/db1/latest/db/dump.sql");
        assert_eq!(
            std::fs::read(stream).expect("stream"),
            b"CREATE TABLE t();\n"
        );
        let times = std::fs::read_dir(mnt.join("snapshots"))
            .expect("readdir")
            .count();
        assert_eq!(times, 3, "two snapshots and latest");
        // Read-only.
        let w = std::fs::OpenOptions::new()
            .write(true)
            .open(by_id.join("small.txt"));
        assert!(w.is_err(), "opened a snapshot file for writing");
        assert!(std::fs::write(mnt.join("ids/new"), b"x").is_err());
    }));
    // SIGTERM unmounts cleanly, whatever the checks found.
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let out = child.wait_with_output().expect("mount exits");
    if let Err(e) = checks {
        std::panic::resume_unwind(e);
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!mnt.join("ids").exists(), "still mounted after SIGTERM");
}

#[test]
fn mount_refuses_a_missing_mount_point() {
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    env.init_repo(&repo, &key);
    let o = env.run_with(
        &repo,
        &key,
        &["mount", env.path("no/such/dir").to_str().expect("utf8")],
    );
    assert_code(&o, 1);
    assert!(stderr(&o).contains("mount point"), "{}", stderr(&o));
}
