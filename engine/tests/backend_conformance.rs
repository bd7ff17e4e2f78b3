//! Every backend passes the same conformance suite.

use cairn::backend::{conformance, Backend, LocalBackend, ObjectBackend};

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
    assert!(b
        .list(cairn::backend::FileKind::Pack)
        .expect("list")
        .is_empty());
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
                b.create(
                    cairn::backend::FileKind::Pack,
                    &name,
                    vec![i as u8; 1000].into(),
                )
                .expect("create");
                assert_eq!(
                    b.read(cairn::backend::FileKind::Pack, &name)
                        .expect("read")
                        .len(),
                    1000
                );
            });
        }
    });
    assert_eq!(
        b.list(cairn::backend::FileKind::Pack).expect("list").len(),
        8
    );
}
