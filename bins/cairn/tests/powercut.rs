//! Power cuts: backups killed at random points on a file system that then
//! drops every write not synced (cairn_testkit::CrashFs). Whatever
//! survives must check clean and restore; nothing stored before is lost
//! (docs/reliability.md, "Power cuts").

mod common;
use cairn_testkit::CrashFs;
use common::*;
use std::path::Path;

fn crashfs(env: &Env) -> CrashFs {
    let mnt = env.path("mnt");
    std::fs::create_dir_all(&mnt).expect("mkdir");
    CrashFs::mount(&mnt).unwrap_or_else(|e| {
        panic!(
            "cannot mount the crash-simulating FUSE file system at {} ({e}); it needs \
             /dev/fuse and root (run the suite as root, as scripts/test does)",
            mnt.display()
        )
    })
}

/// The simulator itself: unsynced data and unsynced names are gone after a
/// power cut, synced ones stay.
#[test]
fn the_simulated_power_cut_drops_exactly_what_was_not_synced() {
    use std::io::Write;
    let env = Env::new();
    let mut fs = crashfs(&env);
    let root = fs.path().to_path_buf();
    let sync_dir = |p: &Path| std::fs::File::open(p).and_then(|d| d.sync_all());
    std::fs::create_dir(root.join("d")).expect("mkdir");
    sync_dir(&root).expect("sync root");
    let mut f = std::fs::File::create(root.join("d/synced")).expect("create");
    f.write_all(b"kept").expect("write");
    f.sync_data().expect("sync");
    sync_dir(&root.join("d")).expect("sync dir");
    f.write_all(b" and lost").expect("write more");
    drop(f);
    std::fs::write(root.join("d/never-synced"), b"lost").expect("write");
    let mut g = std::fs::File::create(root.join("d/name-not-synced")).expect("create");
    g.write_all(b"lost too").expect("write");
    g.sync_data().expect("sync");
    drop(g);
    fs.power_cut().expect("power cut");
    assert_eq!(std::fs::read(root.join("d/synced")).expect("read"), b"kept");
    assert!(!root.join("d/never-synced").exists());
    assert!(!root.join("d/name-not-synced").exists());
}

fn source(dir: &Path, seed: u64, files: usize) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut x = seed | 1;
    for i in 0..files {
        let len = 200_000 + (i * 37_337) % 700_000;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(dir.join(format!("f{i:03}")), data).expect("write");
    }
}

#[test]
fn backups_cut_off_by_power_loss_leave_a_repository_that_checks_clean() {
    let env = Env::new();
    let mut fs = crashfs(&env);
    let repo = fs.path().join("repo");
    let key = env.path("repo.key");
    let o = env
        .cmd(&[
            "init",
            "--generate-key-file",
            key.to_str().expect("utf8"),
            "--pack-size",
            "1",
        ])
        .env("CAIRN_REPOSITORY", &repo)
        .output()
        .expect("runs");
    assert_code(&o, 0);
    let first = env.path("first");
    source(&first, 1, 12);
    assert_code(
        &env.run_with(&repo, &key, &["backup", first.to_str().expect("utf8")]),
        0,
    );
    let rounds: u64 = std::env::var("CAIRN_POWERCUT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    // How long one such backup takes here, so the cuts can spread over it.
    let cal = env.path("calibrate");
    source(&cal, 99, 80);
    let started = std::time::Instant::now();
    assert_code(
        &env.run_with(&repo, &key, &["backup", cal.to_str().expect("utf8")]),
        0,
    );
    let full = started.elapsed();
    let mut survived = 0;
    for round in 0..rounds {
        let src = env.path(&format!("src{round}"));
        source(&src, 100 + round, 80);
        let mut child = env
            .cmd(&["backup", src.to_str().expect("utf8")])
            .env("CAIRN_REPOSITORY", &repo)
            .env("CAIRN_KEY_FILE", &key)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        // Cuts spread over the backup's run: from 5% to 95% of it.
        let frac = 0.05 + 0.9 * ((round * 7919) % 1000) as f64 / 1000.0;
        std::thread::sleep(full.mul_f64(frac));
        let _ = child.kill();
        let status = child.wait().expect("wait");
        survived += u64::from(status.success());
        fs.power_cut().expect("power cut");
        let o = env.run_with(&repo, &key, &["check", "--read-data"]);
        assert_code(&o, 0);
        let o = env.run_with(&repo, &key, &["--json", "snapshots"]);
        assert_code(&o, 0);
        let listed = json(&o);
        let snaps = listed.as_array().expect("snapshots");
        assert!(!snaps.is_empty(), "the first backup survives every cut");
        let out = env.path(&format!("out{round}"));
        let o = env.run_with(
            &repo,
            &key,
            &["restore", "latest", "--target", out.to_str().expect("utf8")],
        );
        assert_code(&o, 0);
    }
    // After all that, the repository still takes a backup and a prune.
    assert_code(
        &env.run_with(&repo, &key, &["backup", first.to_str().expect("utf8")]),
        0,
    );
    assert_code(&env.run_with(&repo, &key, &["prune", "--grace", "0"]), 0);
    let o = env.run_with(&repo, &key, &["check", "--read-data"]);
    assert_code(&o, 0);
    eprintln!(
        "{survived} of {rounds} cut backups had finished before the cut (a backup takes {full:?})"
    );
    assert!(
        survived < rounds,
        "at least one cut must land inside a backup"
    );
}
