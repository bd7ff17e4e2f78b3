//! Every backend passes the same conformance suite (S3 on moto runs it in
//! `tests/s3.rs`).

use cairn::{
    conformance, Backend, FaultBackend, FaultPlan, FileKind, LocalBackend, ObjectBackend,
    RetryBackend,
};
use std::sync::Arc;

#[test]
fn memory_backend_conforms() {
    let b = ObjectBackend::memory().expect("memory");
    conformance::run(&b).expect("conforms");
}

#[test]
fn local_backend_conforms() {
    let tmp = tempfile::tempdir().expect("tmp");
    let b = LocalBackend::new(tmp.path(), true).expect("local");
    conformance::run(&b).expect("conforms");
    assert!(b.list(cairn::FileKind::Pack).expect("list").is_empty());
}

#[test]
fn the_retry_and_fault_wrappers_conform() {
    let inner: Arc<dyn Backend> = Arc::new(ObjectBackend::memory().expect("memory"));
    let retry = RetryBackend::with_defaults(inner.clone());
    conformance::run(&retry).expect("retry conforms");
    let quiet = FaultPlan::default();
    let fault = FaultBackend::new(inner, quiet);
    conformance::run(&fault).expect("fault wrapper without faults conforms");
}

/// A temporary an interrupted write left is a leftover, never an object,
/// and `delete` removes it by its listed name.
#[test]
fn local_leftovers_are_listed_apart_and_deletable() {
    let tmp = tempfile::tempdir().expect("tmp");
    let b = LocalBackend::new(tmp.path(), true).expect("local");
    let name = format!("{:064x}", 7);
    b.create(FileKind::Pack, &name, vec![1u8; 10].into())
        .expect("create");
    let leftover = format!("{name}#4242-1");
    let dir = tmp.path().join("data").join(&name[..2]);
    std::fs::write(dir.join(&leftover), b"half").expect("write leftover");
    let objects = b.list(FileKind::Pack).expect("list");
    assert_eq!(objects, vec![(name.clone(), 10)]);
    let left = b.list_leftovers(FileKind::Pack).expect("leftovers");
    assert_eq!(left.len(), 1);
    assert_eq!(
        (left[0].name.as_str(), left[0].size),
        (leftover.as_str(), 4)
    );
    b.delete(FileKind::Pack, &leftover)
        .expect("delete leftover");
    assert!(b
        .list_leftovers(FileKind::Pack)
        .expect("leftovers")
        .is_empty());
    assert_eq!(b.list(FileKind::Pack).expect("list").len(), 1);
}

#[test]
fn local_backend_conforms_from_many_threads() {
    let tmp = tempfile::tempdir().expect("tmp");
    let b = LocalBackend::new(tmp.path(), true).expect("local");
    std::thread::scope(|s| {
        for i in 0..8u64 {
            let b = &b;
            s.spawn(move || {
                let name = format!("{:064x}", i + 1);
                b.create(cairn::FileKind::Pack, &name, vec![i as u8; 1000].into())
                    .expect("create");
                assert_eq!(
                    b.read(cairn::FileKind::Pack, &name).expect("read").len(),
                    1000
                );
            });
        }
    });
    assert_eq!(b.list(cairn::FileKind::Pack).expect("list").len(), 8);
}
