//! The archive reader and writer against an independent implementation
//! (`independent_archive.py`, pymongo's `bson` module), both ways.

use cairn_mongodb::archive::{self, Prelude, Sink, Writer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> String {
    let py = cairn_testkit::test_python();
    assert!(
        cairn_testkit::python_has(&py, "bson"),
        "these tests need Python 3 with pymongo (its bson module): run the suite with \
         scripts/test, which installs it in the test virtual environment, or \
         `pip install pymongo` in a venv and set CAIRN_MOTO_PYTHON to its python"
    );
    py
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/independent_archive.py")
}

/// Writes the independent archive into `dir`; returns its path.
fn independent(dir: &Path) -> PathBuf {
    let out = dir.join("py.archive");
    let st = Command::new(python())
        .arg(script())
        .arg("write")
        .arg(&out)
        .arg(dir)
        .status()
        .expect("run python");
    assert!(st.success(), "the independent writer failed");
    out
}

/// The independent reader's findings, or its error line.
fn py_read(path: &Path) -> Result<serde_json::Value, String> {
    let o = Command::new(python())
        .arg(script())
        .arg("read")
        .arg(path)
        .output()
        .expect("run python");
    match o.status.code() {
        Some(0) => Ok(serde_json::from_slice(&o.stdout).expect("json")),
        Some(2) => Err(String::from_utf8_lossy(&o.stderr).into_owned()),
        c => panic!(
            "the independent reader crashed ({c:?}): {}",
            String::from_utf8_lossy(&o.stderr)
        ),
    }
}

#[derive(Default)]
struct Collect {
    prelude: Option<Prelude>,
    docs: BTreeMap<String, Vec<Vec<u8>>>,
}

impl Sink for Collect {
    fn prelude(&mut self, p: &Prelude) -> cairn::Result<()> {
        self.prelude = Some(p.clone());
        Ok(())
    }
    fn doc(&mut self, ns: &str, bytes: &[u8]) -> cairn::Result<()> {
        self.docs
            .entry(ns.to_string())
            .or_default()
            .push(bytes.to_vec());
        Ok(())
    }
}

fn read_rust(bytes: &[u8]) -> cairn::Result<Collect> {
    let mut c = Collect::default();
    archive::read(bytes, "test archive", &mut c)?;
    Ok(c)
}

/// The same contents written back by cairn, collections one after another.
fn rewrite(c: &Collect) -> Vec<u8> {
    let p = c.prelude.as_ref().expect("prelude");
    let mut w = Writer::start(Vec::new(), p).expect("start");
    for e in &p.entries {
        for d in c.docs.get(&e.ns()).into_iter().flatten() {
            w.doc(&e.db, &e.collection, d).expect("doc");
        }
        w.end(&e.db, &e.collection).expect("end");
    }
    w.finish().expect("finish")
}

#[test]
fn an_interleaved_archive_of_every_bson_type_is_read_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tmp");
    let bytes = std::fs::read(independent(dir.path())).expect("read");
    let c = read_rust(&bytes).expect("the independent archive reads");
    let p = c.prelude.as_ref().expect("prelude");
    assert_eq!(p.header.server_version, "7.0.14");
    assert_eq!(p.header.concurrent_collections, 4);
    let kinds: Vec<(String, &str)> = p
        .entries
        .iter()
        .map(|e| (e.ns(), e.kind.as_str()))
        .collect();
    assert_eq!(kinds.len(), 5);
    assert!(kinds.contains(&("app.active".to_string(), "view")));
    for e in &p.entries {
        let want = std::fs::read(dir.path().join(format!("{}.bson", e.ns()))).expect("bson");
        let got: Vec<u8> = c.docs.get(&e.ns()).map(|d| d.concat()).unwrap_or_default();
        assert_eq!(got, want, "documents of {}", e.ns());
        assert_eq!(e.size as usize, want.len());
        let meta: serde_json::Value = serde_json::from_str(&e.metadata).expect("metadata json");
        assert_eq!(meta["collectionName"], e.collection.as_str());
    }
    assert_eq!(c.docs["app.users"].len(), 250);
    assert_eq!(c.docs["app.types"].len(), 3);
    assert!(!c.docs.contains_key("app.empty"));
}

#[test]
fn an_archive_cairn_writes_is_read_by_the_independent_reader_unchanged() {
    let dir = tempfile::tempdir().expect("tmp");
    let original = independent(dir.path());
    let c = read_rust(&std::fs::read(&original).expect("read")).expect("reads");
    let ours = dir.path().join("cairn.archive");
    std::fs::write(&ours, rewrite(&c)).expect("write");
    let theirs = py_read(&original).expect("the independent archive");
    let back = py_read(&ours).expect("the independent reader accepts cairn's archive");
    assert_eq!(back["collections"], theirs["collections"]);
    assert_eq!(back["header"]["server_version"], "7.0.14");
    assert_eq!(theirs["collections"].as_array().expect("list").len(), 5);
}

fn small_archive() -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = read_rust(&std::fs::read(independent(dir.path())).expect("read")).expect("reads");
    let p = c.prelude.as_mut().expect("prelude");
    p.entries
        .retain(|e| e.collection == "users" || e.collection == "empty");
    c.docs.retain(|ns, _| ns == "app.users");
    c.docs.get_mut("app.users").expect("users").truncate(12);
    rewrite(&c)
}

#[test]
fn an_archive_cut_anywhere_is_refused_with_a_clear_error() {
    let whole = small_archive();
    read_rust(&whole).expect("the whole archive reads");
    for cut in 0..whole.len() {
        let e = match read_rust(&whole[..cut]) {
            Ok(_) => panic!(
                "an archive cut at {cut} of {} bytes was accepted",
                whole.len()
            ),
            Err(e) => e.to_string(),
        };
        assert!(
            e.contains("truncated") || e.contains("terminator") || e.contains("claims"),
            "cut at {cut}: {e}"
        );
    }
}

#[test]
fn damage_is_found_by_both_readers() {
    let whole = small_archive();
    let dir = tempfile::tempdir().expect("tmp");
    // A byte inside a document's string: the document still parses, the CRC does not match.
    let at = whole
        .windows(3)
        .position(|w| w == b"u11")
        .expect("a user name")
        + 1;
    let mut flipped = whole.clone();
    flipped[at] ^= 0x01;
    let e = read_rust(&flipped).err().expect("damage found").to_string();
    assert!(e.contains("CRC mismatch for namespace app.users"), "{e}");
    let f = dir.path().join("flipped.archive");
    std::fs::write(&f, &flipped).expect("write");
    let py = py_read(&f).expect_err("the independent reader finds it too");
    assert!(py.contains("CRC mismatch"), "{py}");
    let mut gz = whole.clone();
    gz[..2].copy_from_slice(&[0x1f, 0x8b]);
    let e = read_rust(&gz).err().expect("gzip refused").to_string();
    assert!(e.contains("gzip"), "{e}");
}
