//! Bucket backup and restore against a real S3-compatible server (moto).

use cairn::{
    Argon2Params, InitOptions, ObjectBackend, ParentChoice, Repository, S3Options, Secret,
};
use cairn_s3::{backup, restore, Bucket, S3BackupOptions, S3RestoreOptions};
use cairn_testkit::Moto;
use object_store::{Attribute, AttributeValue, Attributes};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

fn opts(m: &Moto) -> S3Options {
    S3Options {
        endpoint: Some(m.endpoint.clone()),
        ..Default::default()
    }
}

fn repo() -> Repository {
    let b = Arc::new(ObjectBackend::memory().expect("memory"));
    Repository::init(
        b,
        &Secret::passphrase("x"),
        InitOptions::default().argon2(Argon2Params::insecure_for_tests()),
    )
    .expect("init")
}

fn body(i: u64, len: usize) -> Vec<u8> {
    let mut s = (i << 1) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

fn attrs(ct: &str, meta: &[(&str, &str)]) -> Attributes {
    let mut a = Attributes::new();
    a.insert(Attribute::ContentType, AttributeValue::from(ct.to_string()));
    for (k, v) in meta {
        a.insert(
            Attribute::Metadata(k.to_string().into()),
            AttributeValue::from(v.to_string()),
        );
    }
    a
}

fn put(b: &Bucket, key: &str, data: &[u8], a: Attributes) {
    b.put(key, a, data.len() as u64, |w| {
        w.write_all(data).map_err(|e| cairn::Error::io("test", e))?;
        Ok(data.len() as u64)
    })
    .expect("put");
}

/// Key -> (sha of body, content type, user metadata).
fn snapshot_of(b: &Bucket) -> BTreeMap<String, (String, String, BTreeMap<String, String>)> {
    let mut out = BTreeMap::new();
    for m in b.list().expect("list") {
        let key = m.location.to_string();
        let (a, mut r) = b.get(&key).expect("get");
        let mut h = Vec::new();
        r.read_to_end(&mut h).expect("read");
        let ct = a
            .get(&Attribute::ContentType)
            .map(|v| v.as_ref().to_string())
            .unwrap_or_default();
        let meta = a
            .iter()
            .filter_map(|(k, v)| match k {
                Attribute::Metadata(n) => Some((n.to_string(), v.as_ref().to_string())),
                _ => None,
            })
            .collect();
        let rel = key
            .strip_prefix(&format!("{}/", b.prefix))
            .unwrap_or(&key)
            .to_string();
        out.insert(rel, (format!("{}:{}", h.len(), fnv_hex(&h)), ct, meta));
    }
    out
}

fn fnv_hex(d: &[u8]) -> String {
    // FNV-1a: a cheap stable digest without another dependency.
    let mut x: u64 = 0xcbf29ce484222325;
    for b in d {
        x = (x ^ u64::from(*b)).wrapping_mul(0x100000001b3);
    }
    format!("{x:016x}")
}

#[test]
fn bucket_round_trip_with_metadata_large_object_and_unchanged_skipping() {
    let m = Moto::start();
    m.create_bucket("media");
    m.create_bucket("restored");
    let src = Bucket::open("s3://media/site", &opts(&m)).expect("bucket");
    let big = body(1, 110 << 20);
    put(
        &src,
        "site/videos/intro.mp4",
        &big,
        attrs("video/mp4", &[("owner", "marketing")]),
    );
    for i in 0..200u64 {
        let key = format!("site/docs/{:03}/page.html", i);
        put(
            &src,
            &key,
            &body(100 + i, 2000 + i as usize * 13),
            attrs("text/html", &[("rev", &i.to_string())]),
        );
    }
    put(
        &src,
        "site/TEMP.upload",
        b"partial",
        attrs("application/octet-stream", &[]),
    );
    put(
        &src,
        "site/a",
        b"a file next to a prefix",
        attrs("text/plain", &[]),
    );
    put(&src, "site/a/b", b"below it", attrs("text/plain", &[]));
    let before = snapshot_of(&src);

    let repo = repo();
    let o = S3BackupOptions {
        url: "s3://media/site".into(),
        s3: opts(&m),
        excludes: vec!["TEMP.*".into()],
        ..Default::default()
    };
    let first = backup(&repo, &o).expect("backup");
    assert_eq!(first.snapshot.summary.streams, 203, "TEMP.* excluded");
    assert!(first.snapshot.summary.bytes_read >= 110 << 20);

    // Change two objects; the re-backup reads only those.
    put(
        &src,
        "site/docs/005/page.html",
        b"<p>edited</p>",
        attrs("text/html", &[("rev", "new")]),
    );
    put(
        &src,
        "site/docs/006/page.html",
        b"<p>edited too</p>",
        attrs("text/html", &[]),
    );
    let second = backup(&repo, &o).expect("re-backup");
    let s = &second.snapshot.summary;
    assert_eq!(s.unchanged_files, 201, "{s:?}");
    assert_eq!(
        s.bytes_read,
        ("<p>edited</p>".len() + "<p>edited too</p>".len()) as u64,
        "{s:?}"
    );
    let after_edit = snapshot_of(&src);

    let r = restore(
        &repo,
        &second.id,
        &S3RestoreOptions {
            url: "s3://restored/copy".into(),
            s3: opts(&m),
            ..Default::default()
        },
    )
    .expect("restore");
    assert_eq!(r.objects, 203);
    let dst = Bucket::open("s3://restored/copy", &opts(&m)).expect("bucket");
    let mut expected = after_edit.clone();
    expected.remove("TEMP.upload");
    assert_eq!(
        snapshot_of(&dst),
        expected,
        "keys, bodies, content types and metadata round-trip"
    );

    // Restore one prefix, and a pattern, from the first snapshot.
    m.create_bucket("partial");
    let r = restore(
        &repo,
        &first.id,
        &S3RestoreOptions {
            url: "s3://partial".into(),
            s3: opts(&m),
            prefix: Some("docs/00".into()),
            include: vec![],
        },
    )
    .expect("prefix restore");
    assert_eq!(r.objects, 10);
    let part = Bucket::open("s3://partial", &opts(&m)).expect("bucket");
    let got = snapshot_of(&part);
    assert_eq!(
        got.get("docs/005/page.html"),
        before.get("docs/005/page.html"),
        "first snapshot's version"
    );
    m.create_bucket("pattern");
    let r = restore(
        &repo,
        &first.id,
        &S3RestoreOptions {
            url: "s3://pattern".into(),
            s3: opts(&m),
            prefix: None,
            include: vec!["videos/*.mp4".into()],
        },
    )
    .expect("pattern restore");
    assert_eq!(r.objects, 1);
    let v = Bucket::open("s3://pattern", &opts(&m)).expect("bucket");
    assert_eq!(
        snapshot_of(&v).get("videos/intro.mp4"),
        before.get("videos/intro.mp4")
    );

    // Without a parent, every object is read again.
    let third = backup(
        &repo,
        &S3BackupOptions {
            parent: ParentChoice::None,
            ..o
        },
    )
    .expect("backup");
    assert_eq!(third.snapshot.summary.unchanged_files, 0);
}
