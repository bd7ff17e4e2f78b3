//! A full disk: under a local repository during backup, and under the
//! target of a restore. Each gives a clear error, and the repository stays
//! sound. The tests mount small tmpfs file systems, so they need root (or
//! CAP_SYS_ADMIN); `scripts/test` runs as root in CI.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of `mib` MiB mounted at `dir`, unmounted on drop.
struct SmallFs(PathBuf);

impl SmallFs {
    fn mount(dir: &Path, mib: u32) -> Self {
        std::fs::create_dir_all(dir).expect("mkdir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "the disk-full tests mount a {mib} MiB tmpfs at {} and could not ({}). Run the \
             tests as root or with CAP_SYS_ADMIN (scripts/test does, in CI).",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        SmallFs(dir.to_path_buf())
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn random_file(path: &Path, mib: usize, seed: u64) {
    let mut x = seed | 1;
    let bytes: Vec<u8> = (0..mib << 17)
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()
        })
        .collect();
    std::fs::write(path, bytes).expect("write source");
}

fn init(env: &Env, repo: &Path, key: &Path) {
    let o = env
        .cmd(&["init", "--generate-key-file", key.to_str().expect("utf8")])
        .env("CAIRN_REPOSITORY", repo)
        .output()
        .expect("init");
    assert_code(&o, 0);
}

#[test]
fn backup_into_a_full_disk_fails_cleanly_and_keeps_the_repository() {
    let env = Env::new();
    let fs = SmallFs::mount(&env.path("fs"), 24);
    let (repo, key) = (fs.0.join("repo"), env.path("key"));
    init(&env, &repo, &key);
    let src = env.path("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("small.txt"), "kept safe\n".repeat(1000)).expect("write");
    let o = env.run_with(&repo, &key, &["backup", src.to_str().expect("utf8")]);
    assert_code(&o, 0);
    random_file(&src.join("big.bin"), 40, 7);
    let o = env.run_with(&repo, &key, &["backup", src.to_str().expect("utf8")]);
    assert_code(&o, 1);
    let err = stderr(&o);
    eprintln!("backup on a full disk: {}", err.trim());
    assert!(
        err.contains("No space left on device") || err.contains("full"),
        "unclear error: {err}"
    );
    // Still one snapshot, the repository checks clean, the first snapshot
    // restores.
    let o = env.run_with(&repo, &key, &["--json", "snapshots"]);
    assert_code(&o, 0);
    assert_eq!(json(&o).as_array().expect("list").len(), 1);
    let o = env.run_with(&repo, &key, &["check", "--read-data"]);
    assert_code(&o, 0);
    let out = env.path("out");
    let o = env.run_with(
        &repo,
        &key,
        &["restore", "latest", "--target", out.to_str().expect("utf8")],
    );
    assert_code(&o, 0);
    // Prune frees what the failed backup stored; a smaller backup fits.
    let o = env.run_with(&repo, &key, &["prune", "--grace", "0"]);
    assert_code(&o, 0);
    std::fs::remove_file(src.join("big.bin")).expect("rm");
    random_file(&src.join("medium.bin"), 4, 8);
    let o = env.run_with(&repo, &key, &["backup", src.to_str().expect("utf8")]);
    assert_code(&o, 0);
    let o = env.run_with(&repo, &key, &["check", "--read-data"]);
    assert_code(&o, 0);
    assert!(
        !stdout(&o).contains("warning"),
        "leftovers remain: {}",
        stdout(&o)
    );
}

#[test]
fn restore_onto_a_full_disk_fails_naming_the_file() {
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    init(&env, &repo, &key);
    let src = env.path("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    random_file(&src.join("big.bin"), 20, 3);
    let o = env.run_with(&repo, &key, &["backup", src.to_str().expect("utf8")]);
    assert_code(&o, 0);
    let fs = SmallFs::mount(&env.path("fs"), 8);
    let o = env.run_with(
        &repo,
        &key,
        &[
            "restore",
            "latest",
            "--target",
            fs.0.to_str().expect("utf8"),
        ],
    );
    assert_code(&o, 1);
    let err = stderr(&o);
    eprintln!("restore onto a full disk: {}", err.trim());
    assert!(
        err.contains("No space left on device"),
        "unclear error: {err}"
    );
    assert!(
        err.contains("big.bin"),
        "the error must name the file: {err}"
    );
    let o = env.run_with(&repo, &key, &["check", "--read-data"]);
    assert_code(&o, 0);
}
