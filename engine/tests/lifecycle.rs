//! Repository lifecycle and key slots.

mod common;
use cairn::{Argon2Params, Backend, Error, FileKind, LocalBackend, Repository, Secret};
use common::*;
use std::sync::Arc;

#[test]
fn open_with_wrong_key_is_wrong_key() {
    let (b, _) = memory_repo();
    let err = Repository::open(b, &Secret::passphrase("nope")).expect_err("wrong");
    assert!(matches!(err, Error::WrongKey), "{err}");
}

#[test]
fn missing_and_foreign_repositories_have_their_own_errors() {
    let tmp = tempfile::tempdir().expect("tmp");
    let b: Arc<dyn Backend> =
        Arc::new(LocalBackend::new(&tmp.path().join("none"), true).expect("backend"));
    let err = Repository::open(b, &secret()).expect_err("missing");
    assert!(matches!(err, Error::RepositoryNotFound(_)), "{err}");
    std::fs::create_dir_all(tmp.path().join("foreign")).expect("mkdir");
    std::fs::write(tmp.path().join("foreign/config"), b"{\"restic\": true}").expect("write");
    let b: Arc<dyn Backend> =
        Arc::new(LocalBackend::new(&tmp.path().join("foreign"), true).expect("backend"));
    let err = Repository::open(b, &secret()).expect_err("foreign");
    assert!(matches!(err, Error::NotARepository(..)), "{err}");
}

#[test]
fn init_twice_is_refused() {
    let (b, _) = memory_repo();
    let err = Repository::init(b, &secret(), fast_init()).expect_err("exists");
    assert!(err.to_string().contains("already exists"), "{err}");
}

#[test]
fn newer_format_version_is_refused() {
    let (b, _) = memory_repo();
    let mut cfg = b.read(FileKind::Config, "").expect("config").to_vec();
    cfg[4] = 9;
    b.delete(FileKind::Config, "").expect("delete");
    b.create(FileKind::Config, "", cfg.into()).expect("create");
    let err = Repository::open(b, &secret()).expect_err("too new");
    assert!(
        matches!(err, Error::UnsupportedVersion { found: 9, .. }),
        "{err}"
    );
}

#[test]
fn key_slots_add_list_remove_without_rewriting_data() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (b, repo) = memory_repo();
    let first = repo.key_id();
    let key_path = tmp.path().join("repo.key");
    let file_secret = Secret::generate_key_file(&key_path).expect("key file");
    let k2 = repo
        .add_key(
            &file_secret,
            cairn::KeyOptions::default()
                .argon2(Argon2Params::insecure_for_tests())
                .label("ops key file".into()),
        )
        .expect("add");
    let cmd = Secret::from_command(&["echo".into(), "from-kms".into()]).expect("cmd");
    let k3 = repo
        .add_key(
            &cmd,
            cairn::KeyOptions::default()
                .argon2(Argon2Params::insecure_for_tests())
                .label("kms".into()),
        )
        .expect("add");
    let keys = repo.list_keys().expect("list");
    assert_eq!(keys.len(), 3);
    assert!(keys
        .iter()
        .any(|(k, s)| *k == k2 && s.label == "ops key file"));
    // Each secret opens the repository, and the data is the same.
    let config = b.read(FileKind::Config, "").expect("config");
    for s in [
        secret(),
        Secret::from_key_file(&key_path).expect("read"),
        cmd.clone(),
    ] {
        let r = Repository::open(b.clone(), &s).expect("opens");
        assert_eq!(r.config().id, repo.config().id);
    }
    assert_eq!(
        b.read(FileKind::Config, "").expect("config"),
        config,
        "config untouched"
    );
    // Remove the first slot from a session opened with another key.
    let via_file = Repository::open(b.clone(), &Secret::from_key_file(&key_path).expect("read"))
        .expect("opens");
    assert!(
        via_file.remove_key(&k2).is_err(),
        "the slot in use is refused"
    );
    via_file.remove_key(&first).expect("remove");
    assert!(matches!(
        Repository::open(b.clone(), &secret()),
        Err(Error::WrongKey)
    ));
    via_file.remove_key(&k3).expect("remove");
    let err = via_file.remove_key(&k2).expect_err("last");
    assert!(
        matches!(err, Error::LastKeySlot | Error::InvalidInput(_)),
        "{err}"
    );
    assert_eq!(via_file.list_keys().expect("list").len(), 1);
}

#[test]
fn last_slot_cannot_be_removed() {
    let (_b, repo) = memory_repo();
    let err = repo.remove_key(&repo.key_id()).expect_err("last");
    assert!(matches!(err, Error::LastKeySlot), "{err}");
}

#[test]
fn snapshot_ids_resolve_by_latest_and_prefix() {
    let (_b, repo) = memory_repo();
    let mk = |t: i64| {
        repo.backup(
            cairn::BackupOptions::default()
                .streams(vec![cairn::StreamSource::from_reader(
                    "s",
                    std::io::Cursor::new(vec![t as u8; 10]),
                )])
                .time_ns(Some(t)),
        )
        .expect("backup")
        .id
    };
    let a = mk(1_000);
    let b = mk(2_000);
    assert_eq!(repo.resolve_snapshot("latest").expect("latest"), b);
    assert_eq!(repo.resolve_snapshot("latest~1").expect("latest~1"), a);
    assert!(repo.resolve_snapshot("latest~2").is_err());
    assert_eq!(repo.resolve_snapshot(&a.to_hex()[..10]).expect("prefix"), a);
    assert!(repo.resolve_snapshot("zz").is_err());
}
