//! Faithful files and safe restores through the CLI, as root and as an
//! unprivileged user (docs/reliability.md, "Faithful files and safe
//! restores"). The root-only parts need root, which CI has; run as
//! another user they fail and say so.

mod common;
use common::*;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn need_root() {
    assert!(
        is_root(),
        "this test needs root (owners, devices, trusted xattrs, running as nobody); \
         run the suite as root, as scripts/test does in CI"
    );
}

fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output().expect("runs")
}

fn sh(script: &str) {
    let o = Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .expect("sh");
    assert!(
        o.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn need_tool(t: &str, package: &str) {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {t}"))
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{t} is needed: apt-get install {package} (scripts/test installs it)"
    );
}

struct Repo {
    env: Env,
    repo: PathBuf,
    key: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let env = Env::new();
        let (repo, key) = (env.path("repo"), env.path("repo.key"));
        let o = env
            .cmd(&["init", "--generate-key-file", key.to_str().expect("utf8")])
            .env("CAIRN_REPOSITORY", &repo)
            .output()
            .expect("runs");
        assert_code(&o, 0);
        Repo { env, repo, key }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.env.run_with(&self.repo, &self.key, args)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.env.cmd(args);
        c.env("CAIRN_REPOSITORY", &self.repo)
            .env("CAIRN_KEY_FILE", &self.key);
        c
    }

    fn as_nobody(&self, args: &[&str]) -> std::process::Output {
        let mut c = self.env.cmd_as_nobody(args);
        c.env("CAIRN_REPOSITORY", &self.repo)
            .env("CAIRN_KEY_FILE", &self.key);
        run(&mut c)
    }
}

fn xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    let mut v = vec![0u8; 1024];
    let n = rustix::fs::lgetxattr(p, name, &mut v[..]).ok()?;
    v.truncate(n);
    Some(v)
}

fn getfacl(p: &Path) -> String {
    let o = Command::new("getfacl")
        .args(["--omit-header", "--absolute-names"])
        .arg(p)
        .output()
        .expect("getfacl");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A tree with everything /etc and /home hold: owners, set-id and sticky
/// modes, hard links, user and trusted xattrs, an ACL, a sparse file, a
/// FIFO, character and block devices, a socket, a symlink, and set times.
fn rich_tree(root: &Path) {
    need_tool("setfacl", "acl");
    std::fs::create_dir_all(root.join("home/ops")).expect("mkdir");
    let f = root.join("home/ops/notes.txt");
    std::fs::write(&f, "notes\n".repeat(300)).expect("write");
    std::os::unix::fs::chown(&f, Some(1234), Some(5678)).expect("chown");
    std::os::unix::fs::chown(root.join("home/ops"), Some(1234), Some(5678)).expect("chown");
    std::fs::hard_link(&f, root.join("home/ops/notes-link.txt")).expect("link");
    rustix::fs::setxattr(
        &f,
        "user.cairn",
        b"user value",
        rustix::fs::XattrFlags::empty(),
    )
    .expect("user xattr");
    rustix::fs::setxattr(
        &f,
        "trusted.cairn",
        b"root value",
        rustix::fs::XattrFlags::empty(),
    )
    .expect("trusted xattr");
    sh(&format!("setfacl -m u:nobody:rw {}", f.display()));
    let suid = root.join("setuid-tool");
    std::fs::write(&suid, b"#!/bin/sh\n").expect("write");
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).expect("chmod");
    let sticky = root.join("shared-tmp");
    std::fs::create_dir(&sticky).expect("mkdir");
    std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    // 40 MiB with data only at both ends.
    sh(&format!(
        "printf head > {0} && truncate -s 40M {0} && printf tail >> {0}",
        root.join("sparse.img").display()
    ));
    sh(&format!("mkfifo -m 0640 {}", root.join("fifo").display()));
    sh(&format!(
        "mknod -m 0660 {} c 1 3",
        root.join("null-dev").display()
    ));
    sh(&format!(
        "mknod -m 0600 {} b 7 200",
        root.join("loop-dev").display()
    ));
    drop(std::os::unix::net::UnixListener::bind(root.join("socket")).expect("socket"));
    std::os::unix::fs::symlink("home/ops/notes.txt", root.join("notes-symlink")).expect("symlink");
    sh(&format!(
        "touch -h -a -d '2020-01-02 03:04:05.123456789' {0} && touch -m -d '2021-06-07 08:09:10.5' {0}",
        f.display()
    ));
}

/// Checks a restored rich tree. `as_root`: owners, devices and trusted
/// xattrs are expected too.
fn check_rich_tree(src: &Path, out: &Path, as_root: bool) {
    let f = out.join("home/ops/notes.txt");
    let sm = std::fs::metadata(src.join("home/ops/notes.txt")).expect("stat");
    let m = std::fs::metadata(&f).expect("stat");
    assert_eq!(
        std::fs::read(&f).expect("read"),
        std::fs::read(src.join("home/ops/notes.txt")).expect("read")
    );
    // The times rich_tree set (the source's own atime moves when this
    // check reads it).
    assert_eq!(
        (m.mtime(), m.mtime_nsec()),
        (1_623_053_350, 500_000_000),
        "mtime"
    );
    assert_eq!(
        (m.atime(), m.atime_nsec()),
        (1_577_934_245, 123_456_789),
        "atime"
    );
    assert_eq!(m.len(), sm.len());
    let link = std::fs::metadata(out.join("home/ops/notes-link.txt")).expect("stat");
    assert_eq!(link.ino(), m.ino(), "hard link restored as a link");
    assert_eq!(m.nlink(), 2);
    assert_eq!(xattr(&f, "user.cairn").as_deref(), Some(&b"user value"[..]));
    assert!(
        getfacl(&f).contains("user:nobody:rw-"),
        "ACL: {}",
        getfacl(&f)
    );
    let sparse = std::fs::metadata(out.join("sparse.img")).expect("stat");
    assert_eq!(sparse.len(), 40 * 1024 * 1024 + 4);
    assert!(
        sparse.blocks() * 512 < 1 << 20,
        "restored sparse: {} blocks",
        sparse.blocks()
    );
    let data = std::fs::read(out.join("sparse.img")).expect("read");
    assert!(data.starts_with(b"head") && data.ends_with(b"tail"));
    let fifo = std::fs::symlink_metadata(out.join("fifo")).expect("fifo");
    assert!(fifo.file_type().is_fifo());
    assert_eq!(fifo.mode() & 0o7777, 0o640);
    assert_eq!(
        std::fs::read_link(out.join("notes-symlink")).expect("link"),
        Path::new("home/ops/notes.txt")
    );
    assert!(!out.join("socket").exists(), "sockets are not restored");
    assert_eq!(
        std::fs::metadata(out.join("setuid-tool"))
            .expect("stat")
            .mode()
            & 0o7777,
        0o4755
    );
    assert_eq!(
        std::fs::metadata(out.join("shared-tmp"))
            .expect("stat")
            .mode()
            & 0o7777,
        0o1777
    );
    if as_root {
        assert_eq!((m.uid(), m.gid()), (1234, 5678), "owner by id");
        assert_eq!(
            xattr(&f, "trusted.cairn").as_deref(),
            Some(&b"root value"[..])
        );
        let dev = std::fs::symlink_metadata(out.join("null-dev")).expect("dev");
        assert!(dev.file_type().is_char_device());
        assert_eq!(
            dev.rdev(),
            std::fs::symlink_metadata(src.join("null-dev"))
                .expect("d")
                .rdev()
        );
        let blk = std::fs::symlink_metadata(out.join("loop-dev")).expect("dev");
        assert!(blk.file_type().is_block_device());
        assert_eq!(blk.mode() & 0o7777, 0o600);
    } else {
        assert_eq!(m.uid(), NOBODY, "owned by whoever restores");
        assert!(!out.join("null-dev").exists());
    }
}

#[test]
fn everything_etc_and_home_hold_survives_a_round_trip_as_root_and_as_nobody() {
    need_root();
    let r = Repo::new();
    r.env.share_with_nobody();
    let src = r.env.path("src");
    rich_tree(&src);
    let o = r.run(&["backup", src.to_str().expect("utf8")]);
    assert_code(&o, 0);
    let o = r.run(&["--json", "ls", "latest"]);
    let rows = json(&o);
    let notes = rows
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/home/ops/notes.txt"))
        })
        .expect("notes in ls")
        .clone();
    assert_eq!(notes["links"], 2);
    assert_eq!(notes["uid"], 1234);
    assert!(notes["xattrs"].as_u64().is_some_and(|n| n >= 2), "{notes}");
    // As root: everything.
    let out = r.env.path("out-root");
    let o = r.run(&[
        "restore",
        "latest",
        "--target",
        out.to_str().expect("utf8"),
        "--verify",
    ]);
    assert_code(&o, 0);
    check_rich_tree(&src, &restored(&out, &src), true);
    // As nobody, into its own directory: what needs root is reported once
    // per kind, and the exit code says the restore is incomplete.
    let out2 = r.env.path("out-nobody");
    std::fs::create_dir(&out2).expect("mkdir");
    std::os::unix::fs::chown(&out2, Some(NOBODY), Some(NOBODY)).expect("chown");
    std::fs::set_permissions(&r.key, std::fs::Permissions::from_mode(0o644)).expect("chmod key");
    sh(&format!("chmod -R a+rX {}", r.repo.display()));
    let o = r.as_nobody(&[
        "restore",
        "latest",
        "--target",
        out2.to_str().expect("utf8"),
    ]);
    assert_code(&o, 3);
    let err = stderr(&o);
    assert!(err.contains("not applied: owners"), "{err}");
    assert!(err.contains("not applied: device nodes"), "{err}");
    assert!(err.contains("trusted. and security."), "{err}");
    assert_eq!(
        err.matches("not applied: owners").count(),
        1,
        "once per kind: {err}"
    );
    check_rich_tree(&src, &restored(&out2, &src), false);
}

#[test]
fn an_unprivileged_user_backs_up_and_restores_its_own_files() {
    need_root();
    let r = Repo::new();
    r.env.share_with_nobody();
    sh(&format!(
        "chown -R {NOBODY}:{NOBODY} {} {}",
        r.repo.display(),
        r.key.display()
    ));
    let src = r.env.path("mine");
    std::fs::create_dir(&src).expect("mkdir");
    std::fs::write(src.join("a"), b"alpha").expect("write");
    std::fs::hard_link(src.join("a"), src.join("a2")).expect("link");
    rustix::fs::setxattr(
        src.join("a"),
        "user.k",
        b"v",
        rustix::fs::XattrFlags::empty(),
    )
    .expect("xattr");
    sh(&format!(
        "mkfifo {} && chown -R {NOBODY}:{NOBODY} {}",
        src.join("p").display(),
        src.display()
    ));
    let o = r.as_nobody(&["backup", src.to_str().expect("utf8")]);
    assert_code(&o, 0);
    let out = r.env.path("out");
    std::fs::create_dir(&out).expect("mkdir");
    std::os::unix::fs::chown(&out, Some(NOBODY), Some(NOBODY)).expect("chown");
    // The directories above the source belong to root, so owners are
    // not restored (`--owners skip`) for a complete restore as nobody.
    let o = r.as_nobody(&[
        "restore",
        "latest",
        "--target",
        out.to_str().expect("utf8"),
        "--verify",
        "--owners",
        "skip",
    ]);
    assert_code(&o, 0);
    let got = restored(&out, &src);
    assert_eq!(std::fs::read(got.join("a")).expect("read"), b"alpha");
    assert_eq!(
        std::fs::metadata(got.join("a2")).expect("s").ino(),
        std::fs::metadata(got.join("a")).expect("s").ino()
    );
    assert_eq!(xattr(&got.join("a"), "user.k").as_deref(), Some(&b"v"[..]));
    assert!(std::fs::symlink_metadata(got.join("p"))
        .expect("p")
        .file_type()
        .is_fifo());
}

/// A file truncated while it is read (log rotation with copytruncate) is
/// stored as read and flagged; the backup finishes with exit 3.
#[test]
fn a_file_truncated_while_read_is_stored_as_read_and_reported() {
    let r = Repo::new();
    let src = r.env.path("src");
    std::fs::create_dir(&src).expect("mkdir");
    let log = src.join("log.bin");
    std::fs::write(&log, noise_bytes(600 << 20)).expect("write");
    std::fs::write(src.join("other.txt"), b"unchanged").expect("write");
    let child = r
        .cmd(&["backup", src.to_str().expect("utf8")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let started = std::time::Instant::now();
    while bytes_read_by(pid) < 40 << 20 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(2));
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .and_then(|f| f.set_len(1 << 20))
        .expect("truncate");
    let o = child.wait_with_output().expect("wait");
    assert_code(&o, 3);
    assert!(
        stderr(&o).contains("changed while it was read"),
        "{}",
        stderr(&o)
    );
    let rows = json(&r.run(&["--json", "ls", "latest"]));
    let row = rows
        .as_array()
        .expect("rows")
        .iter()
        .find(|x| x["path"].as_str().is_some_and(|p| p.ends_with("log.bin")))
        .expect("log.bin is in the snapshot")
        .clone();
    assert_eq!(row["changed_during_read"], true, "{row}");
    assert_code(&r.run(&["check", "--read-data"]), 0);
    let out = r.env.path("out");
    assert_code(
        &r.run(&["restore", "latest", "--target", out.to_str().expect("utf8")]),
        0,
    );
    assert_eq!(
        std::fs::read(restored(&out, &src).join("other.txt")).expect("read"),
        b"unchanged"
    );
    // The next backup reads it again (a flagged file is never "unchanged").
    let o = r.run(&["--json", "backup", src.to_str().expect("utf8")]);
    assert_code(&o, 0);
    assert_eq!(
        json(&o)["summary"]["bytes_read"],
        1 << 20,
        "only the flagged file is read"
    );
}

fn noise_bytes(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut out = vec![0u8; len];
    for c in out.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        c.copy_from_slice(&b[..c.len()]);
    }
    out
}

/// A damaged snapshot never blocks new work: backup and forget go on,
/// prune names it, `forget ID` removes it, and then prune runs.
#[test]
fn a_damaged_snapshot_never_blocks_new_work() {
    let r = Repo::new();
    let src = r.env.path("src");
    make_source(&src);
    assert_code(&r.run(&["backup", src.to_str().expect("utf8")]), 0);
    assert_code(&r.run(&["backup", src.to_str().expect("utf8")]), 0);
    let snaps = json(&r.run(&["--json", "snapshots"]));
    let first = snaps[0]["id"].as_str().expect("id").to_string();
    let path = r.repo.join("snapshots").join(&first);
    let mut bytes = std::fs::read(&path).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::fs::write(&path, bytes).expect("damage");
    let o = r.run(&["backup", src.to_str().expect("utf8")]);
    assert_code(&o, 0);
    assert!(
        stderr(&o).contains(&first[..8]),
        "the damaged one is named: {}",
        stderr(&o)
    );
    assert_code(&r.run(&["forget", "--keep-last", "5"]), 0);
    let o = r.run(&["prune"]);
    assert_code(&o, 4);
    assert!(stderr(&o).contains("forget"), "{}", stderr(&o));
    assert_code(&r.run(&["forget", &first[..12]]), 0);
    assert_code(&r.run(&["prune", "--grace", "0"]), 0);
    assert_code(&r.run(&["check", "--read-data"]), 0);
}

/// Ctrl-C (SIGINT) stops a backup cleanly: it says so, exits 130, what it
/// stored is indexed (check is silent) and the next backup reuses it.
#[test]
fn an_interrupted_backup_is_indexed_and_reused() {
    let r = Repo::new();
    let src = r.env.path("src");
    std::fs::create_dir(&src).expect("mkdir");
    for i in 0..6u64 {
        let mut data = noise_bytes(60 << 20);
        data[0] = i as u8;
        std::fs::write(src.join(format!("part{i}")), data).expect("write");
    }
    let child = r
        .cmd(&["backup", src.to_str().expect("utf8")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let started = std::time::Instant::now();
    while bytes_read_by(pid) < 200 << 20 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    sh(&format!("kill -INT {pid}"));
    let o = child.wait_with_output().expect("wait");
    assert_code(&o, 130);
    assert!(
        stderr(&o).contains("interrupted") && stderr(&o).contains("indexed"),
        "{}",
        stderr(&o)
    );
    let o = r.run(&["check"]);
    assert_code(&o, 0);
    assert!(
        !stdout(&o).contains("warning"),
        "check is silent: {}",
        stdout(&o)
    );
    let o = r.run(&["--json", "backup", src.to_str().expect("utf8")]);
    assert_code(&o, 0);
    let added = json(&o)["summary"]["raw_bytes_added"]
        .as_u64()
        .expect("added");
    assert!(
        added < 300 << 20,
        "the interrupted run's data was reused: {added} of 360 MiB new"
    );
}

/// The issue's own reproduction: a symlink in the target where a file
/// goes, and everything --overwrite, --delete, --verify and --include do.
#[test]
fn restore_policies_delete_verify_and_include() {
    let r = Repo::new();
    let src = r.env.path("src");
    make_source(&src);
    assert_code(&r.run(&["backup", src.to_str().expect("utf8")]), 0);
    let t = r.env.path("t");
    let at = restored(&t, &src);
    std::fs::create_dir_all(&at).expect("mkdir");
    let victim = r.env.path("victim-secret");
    std::fs::write(&victim, b"secret").expect("write");
    std::os::unix::fs::symlink(&victim, at.join("a.txt")).expect("symlink");
    let restore = |extra: &[&str]| {
        let mut args = vec!["restore", "latest", "--target", t.to_str().expect("utf8")];
        args.extend_from_slice(extra);
        r.run(&args)
    };
    assert_code(&restore(&[]), 0);
    assert_eq!(
        std::fs::read(&victim).expect("read"),
        b"secret",
        "never written through"
    );
    let a = at.join("a.txt");
    let original = std::fs::read(src.join("a.txt")).expect("read");
    assert_eq!(std::fs::read(&a).expect("read"), original);
    // never / if-newer / if-changed / always on a modified file.
    let set = |content: &[u8], mtime: &str| {
        std::fs::write(&a, content).expect("write");
        sh(&format!("touch -d '{mtime}' {}", a.display()));
    };
    set(b"edited", "2000-01-01");
    assert_code(&restore(&["--overwrite", "never"]), 0);
    assert_eq!(std::fs::read(&a).expect("read"), b"edited");
    set(b"edited", "2999-01-01");
    assert_code(&restore(&["--overwrite", "if-newer"]), 0);
    assert_eq!(
        std::fs::read(&a).expect("read"),
        b"edited",
        "the target's is newer"
    );
    set(b"edited", "2000-01-01");
    assert_code(&restore(&["--overwrite", "if-newer"]), 0);
    assert_eq!(
        std::fs::read(&a).expect("read"),
        original,
        "the snapshot's is newer"
    );
    set(b"edited", "2000-01-01");
    assert_code(&restore(&["--overwrite", "if-changed"]), 0);
    assert_eq!(
        std::fs::read(&a).expect("read"),
        original,
        "size and mtime differ"
    );
    // --delete removes what the snapshot lacks.
    std::fs::write(at.join("extra"), b"x").expect("write");
    assert_code(&restore(&[]), 0);
    assert!(at.join("extra").exists(), "kept without --delete");
    assert_code(&restore(&["--delete"]), 0);
    assert!(!at.join("extra").exists(), "removed with --delete");
    // A non-empty directory where a file goes: reported, the rest goes on;
    // --delete replaces it.
    std::fs::remove_file(&a).expect("rm");
    std::fs::create_dir(&a).expect("mkdir");
    std::fs::write(a.join("inside"), b"y").expect("write");
    let o = restore(&[]);
    assert_code(&o, 3);
    assert!(
        stderr(&o).contains("directory is in the way"),
        "{}",
        stderr(&o)
    );
    assert!(at.join("sub/b.bin").exists(), "the rest was restored");
    assert_code(&restore(&["--delete"]), 0);
    assert_eq!(std::fs::read(&a).expect("read"), original);
    // --verify reads every file back.
    let o = r.run(&[
        "--json",
        "restore",
        "latest",
        "--target",
        t.to_str().expect("utf8"),
        "--verify",
    ]);
    assert_code(&o, 0);
    assert_eq!(json(&o)["verified"], 2);
    // An --include that matches nothing is an error.
    let o = restore(&["--include", "/no/such/path"]);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("matches nothing"), "{}", stderr(&o));
}
