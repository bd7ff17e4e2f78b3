//! The mongodump archive format (`mongodump --archive`, read by
//! `mongorestore --archive`), as mongo-tools' `common/archive/spec.md`
//! describes it: a magic number, a header document, one metadata document
//! per collection, a terminator, then namespace segments (a header
//! document, documents, a terminator) that may interleave, and one EOF
//! header per namespace carrying the CRC-64-ECMA of all its documents.
//! Gzipped archives are not read.

use crate::crc64::Crc64;
use crate::doc::{read_item, Item, TERMINATOR};
use bson::{doc, Bson, Document};
use cairn::{Error, Result};
use std::collections::BTreeMap;
use std::io::{Read, Write};

/// The first four bytes of every archive (0x8199e26d, little-endian).
pub const MAGIC: [u8; 4] = [0x6d, 0xe2, 0x99, 0x81];
/// The only archive format version.
pub const FORMAT_VERSION: &str = "0.1";
/// Where a segment is cut when an archive is written.
pub const SEGMENT_BYTES: usize = 16 * 1024 * 1024;

/// The header document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// `concurrent_collections`.
    pub concurrent_collections: i32,
    /// `server_version`.
    pub server_version: String,
    /// `tool_version`.
    pub tool_version: String,
}

/// One collection's entry in the prelude.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Database.
    pub db: String,
    /// Collection.
    pub collection: String,
    /// Its metadata as canonical Extended JSON (a `.metadata.json` file).
    pub metadata: String,
    /// Bytes of its documents.
    pub size: i64,
    /// `""`, `"view"` or `"timeseries"`.
    pub kind: String,
}

impl Entry {
    /// `db.collection`.
    pub fn ns(&self) -> String {
        format!("{}.{}", self.db, self.collection)
    }
}

/// What an archive holds before its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prelude {
    /// The header.
    pub header: Header,
    /// The collections, in archive order.
    pub entries: Vec<Entry>,
}

/// Receives an archive's contents as they are read.
pub trait Sink {
    /// The prelude, before any document.
    fn prelude(&mut self, p: &Prelude) -> Result<()>;
    /// One document of namespace `ns` (`db.collection`).
    fn doc(&mut self, ns: &str, bytes: &[u8]) -> Result<()>;
    /// Namespace `ns` ended: its EOF arrived and its CRC matched.
    fn end(&mut self, ns: &str) -> Result<()> {
        let _ = ns;
        Ok(())
    }
}

/// A sink that only counts documents (the reader's own checks are the
/// point: a drill reading back an archive, the fuzz target).
#[derive(Debug, Default)]
pub struct DocCount(pub u64);

impl Sink for DocCount {
    fn prelude(&mut self, _: &Prelude) -> Result<()> {
        Ok(())
    }
    fn doc(&mut self, _: &str, _: &[u8]) -> Result<()> {
        self.0 += 1;
        Ok(())
    }
}

/// What a whole archive held, per namespace: documents, bytes and CRC
/// (checked against its EOF header).
pub type Counts = BTreeMap<String, (u64, u64, u64)>;

fn bad(what: &str, detail: impl std::fmt::Display) -> Error {
    Error::corrupt(what, detail)
}

fn need_doc(r: &mut impl Read, what: &str, part: &str) -> Result<Document> {
    match read_item(r, what)? {
        Item::Doc(d) => Document::from_reader(&mut &d[..]).map_err(|e| bad(what, e)),
        Item::Terminator => Err(bad(what, format!("a terminator where the {part} belongs"))),
        Item::End => Err(bad(
            what,
            format!("truncated: the input ends before the {part}"),
        )),
    }
}

fn text(d: &Document, key: &str, what: &str, part: &str) -> Result<String> {
    match d.get(key) {
        Some(Bson::String(s)) => Ok(s.clone()),
        _ => Err(bad(what, format!("the {part} has no string field {key:?}"))),
    }
}

fn int(d: &Document, key: &str) -> Option<i64> {
    match d.get(key) {
        Some(Bson::Int32(n)) => Some(*n as i64),
        Some(Bson::Int64(n)) => Some(*n),
        _ => None,
    }
}

/// Reads the magic number, the header and the metadata up to the
/// terminator.
pub fn read_prelude(r: &mut impl Read, what: &str) -> Result<Prelude> {
    let mut magic = [0u8; 4];
    r.read_exact(&mut magic).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => bad(what, "truncated: fewer than 4 bytes"),
        _ => Error::Source {
            name: what.to_string(),
            detail: format!("read failed: {e}"),
        },
    })?;
    if magic != MAGIC {
        let hint = match magic {
            [0x1f, 0x8b, ..] => {
                " (gzip: decompress it first, e.g. gunzip -c; --gzip archives are not read)"
            }
            _ => "",
        };
        return Err(bad(
            what,
            format!("not a mongodump archive: bad magic number {magic:02x?}{hint}"),
        ));
    }
    let h = need_doc(r, what, "archive header")?;
    let version = text(&h, "version", what, "archive header")?;
    if version != FORMAT_VERSION {
        return Err(bad(
            what,
            format!("archive format version {version:?}; only {FORMAT_VERSION:?} is known"),
        ));
    }
    let header = Header {
        concurrent_collections: int(&h, "concurrent_collections").unwrap_or(1) as i32,
        server_version: text(&h, "server_version", what, "archive header").unwrap_or_default(),
        tool_version: text(&h, "tool_version", what, "archive header").unwrap_or_default(),
    };
    let mut entries = Vec::new();
    loop {
        let d = match read_item(r, what)? {
            Item::Terminator => break,
            Item::End => return Err(bad(what, "truncated: the input ends inside the prelude")),
            Item::Doc(d) => Document::from_reader(&mut &d[..]).map_err(|e| bad(what, e))?,
        };
        let part = "collection metadata";
        entries.push(Entry {
            db: text(&d, "db", what, part)?,
            collection: text(&d, "collection", what, part)?,
            metadata: text(&d, "metadata", what, part)?,
            size: int(&d, "size").unwrap_or(0),
            kind: text(&d, "type", what, part).unwrap_or_default(),
        });
    }
    Ok(Prelude { header, entries })
}

struct Namespace {
    docs: u64,
    bytes: u64,
    crc: Crc64,
    done: bool,
}

/// Reads a whole archive into `sink`, checking every document, each EOF's
/// CRC, and that every collection of the prelude ended.
pub fn read(mut r: impl Read, what: &str, sink: &mut dyn Sink) -> Result<Counts> {
    let prelude = read_prelude(&mut r, what)?;
    sink.prelude(&prelude)?;
    let mut ns: BTreeMap<String, Namespace> = prelude
        .entries
        .iter()
        .map(|e| {
            let n = Namespace {
                docs: 0,
                bytes: 0,
                crc: Crc64::new(),
                done: false,
            };
            (e.ns(), n)
        })
        .collect();
    loop {
        let h = match read_item(&mut r, what)? {
            Item::End => break,
            Item::Terminator => {
                return Err(bad(what, "a terminator where a namespace header belongs"))
            }
            Item::Doc(d) => Document::from_reader(&mut &d[..]).map_err(|e| bad(what, e))?,
        };
        let part = "namespace header";
        let name = format!(
            "{}.{}",
            text(&h, "db", what, part)?,
            text(&h, "collection", what, part)?
        );
        let eof = matches!(h.get("EOF"), Some(Bson::Boolean(true)));
        let Some(n) = ns.get_mut(&name) else {
            return Err(bad(
                what,
                format!("data for namespace {name}, which the prelude does not list"),
            ));
        };
        if n.done {
            return Err(bad(
                what,
                format!("namespace {name} continues after its EOF"),
            ));
        }
        if eof {
            let want = match h.get("CRC") {
                Some(Bson::Int64(c)) => *c as u64,
                _ => return Err(bad(what, format!("the EOF of {name} has no int64 CRC"))),
            };
            if want != n.crc.sum() {
                return Err(bad(what, format!("CRC mismatch for namespace {name}: the documents give {:016x}, the EOF says {want:016x}", n.crc.sum())));
            }
            n.done = true;
            match read_item(&mut r, what)? {
                Item::Terminator => {
                    sink.end(&name)?;
                    continue;
                }
                _ => {
                    return Err(bad(
                        what,
                        format!("the EOF of {name} is not followed by a terminator"),
                    ))
                }
            }
        }
        loop {
            match read_item(&mut r, what)? {
                Item::Doc(d) => {
                    n.docs += 1;
                    n.bytes += d.len() as u64;
                    n.crc.update(&d);
                    sink.doc(&name, &d)?;
                }
                Item::Terminator => break,
                Item::End => {
                    return Err(bad(
                        what,
                        format!("truncated: the input ends inside a segment of {name}"),
                    ))
                }
            }
        }
    }
    // A view's EOF is what makes mongorestore create it, but archives of
    // older mongodump versions have none: only a collection must have one.
    let views: std::collections::BTreeSet<String> = prelude
        .entries
        .iter()
        .filter(|e| e.kind == "view")
        .map(Entry::ns)
        .collect();
    if let Some((name, _)) = ns.iter().find(|(k, n)| !n.done && !views.contains(*k)) {
        return Err(bad(what, format!("truncated: namespace {name} has no EOF")));
    }
    Ok(ns
        .into_iter()
        .map(|(k, n)| (k, (n.docs, n.bytes, n.crc.sum())))
        .collect())
}

fn put(out: &mut impl Write, d: &Document) -> Result<()> {
    let mut v = Vec::new();
    d.to_writer(&mut v)
        .map_err(|e| Error::internal(format!("BSON encode: {e}")))?;
    write_all(out, &v)
}

fn write_all(out: &mut impl Write, b: &[u8]) -> Result<()> {
    out.write_all(b).map_err(|e| Error::Source {
        name: "mongodump archive".into(),
        detail: format!("write failed: {e}"),
    })
}

fn size_value(n: i64) -> Bson {
    match i32::try_from(n) {
        Ok(small) => Bson::Int32(small),
        Err(_) => Bson::Int64(n),
    }
}

/// Writes an archive: the prelude first, then each collection's documents.
pub struct Writer<W: Write> {
    out: W,
    /// The collection being written, from its first document to its EOF.
    current: Option<(String, String)>,
    /// Whether a segment is open (its header written, no terminator yet).
    in_segment: bool,
    /// Bytes in the open segment.
    segment: usize,
    /// CRC of the current collection's documents.
    crc: Crc64,
}

impl<W: Write> Writer<W> {
    /// Writes the magic number, the header and the metadata.
    pub fn start(mut out: W, p: &Prelude) -> Result<Self> {
        write_all(&mut out, &MAGIC)?;
        put(
            &mut out,
            &doc! {
                "concurrent_collections": p.header.concurrent_collections,
                "version": FORMAT_VERSION,
                "server_version": &p.header.server_version,
                "tool_version": &p.header.tool_version,
            },
        )?;
        for e in &p.entries {
            put(
                &mut out,
                &doc! {
                    "db": &e.db,
                    "collection": &e.collection,
                    "metadata": &e.metadata,
                    "size": size_value(e.size),
                    "type": &e.kind,
                },
            )?;
        }
        write_all(&mut out, &TERMINATOR)?;
        Ok(Writer {
            out,
            current: None,
            in_segment: false,
            segment: 0,
            crc: Crc64::new(),
        })
    }

    fn header(&mut self, db: &str, coll: &str, eof: bool, crc: u64) -> Result<()> {
        put(
            &mut self.out,
            &doc! {
                "db": db, "collection": coll, "EOF": eof, "CRC": Bson::Int64(crc as i64),
            },
        )
    }

    /// Refuses a collection other than the one being written.
    fn enter(&mut self, db: &str, coll: &str) -> Result<()> {
        match &self.current {
            Some((d, c)) if d != db || c != coll => Err(Error::internal(format!(
                "archive writer: {d}.{c} must end before {db}.{coll} begins"
            ))),
            Some(_) => Ok(()),
            None => {
                self.current = Some((db.to_string(), coll.to_string()));
                Ok(())
            }
        }
    }

    /// Adds a document of `db.coll` (collections one after another, each
    /// closed by [`Writer::end`]).
    pub fn doc(&mut self, db: &str, coll: &str, bytes: &[u8]) -> Result<()> {
        self.enter(db, coll)?;
        if self.in_segment && self.segment >= SEGMENT_BYTES {
            write_all(&mut self.out, &TERMINATOR)?;
            self.in_segment = false;
        }
        if !self.in_segment {
            self.header(db, coll, false, 0)?;
            self.in_segment = true;
            self.segment = 0;
        }
        self.segment += bytes.len();
        self.crc.update(bytes);
        write_all(&mut self.out, bytes)
    }

    /// Ends collection `db.coll` with its EOF header; returns its CRC.
    pub fn end(&mut self, db: &str, coll: &str) -> Result<u64> {
        self.enter(db, coll)?;
        if self.in_segment {
            write_all(&mut self.out, &TERMINATOR)?;
        }
        let crc = self.crc.sum();
        self.header(db, coll, true, crc)?;
        write_all(&mut self.out, &TERMINATOR)?;
        self.current = None;
        self.in_segment = false;
        self.crc = Crc64::new();
        Ok(crc)
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> Result<W> {
        self.out.flush().map_err(|e| Error::Source {
            name: "mongodump archive".into(),
            detail: format!("flush failed: {e}"),
        })?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prelude(names: &[&str]) -> Prelude {
        Prelude {
            header: Header {
                concurrent_collections: 1,
                server_version: "7.0.14".into(),
                tool_version: "test".into(),
            },
            entries: names
                .iter()
                .map(|c| Entry {
                    db: "d".into(),
                    collection: c.to_string(),
                    metadata: "{}".into(),
                    size: 0,
                    kind: String::new(),
                })
                .collect(),
        }
    }

    fn doc_bytes(i: i32, pad: usize) -> Vec<u8> {
        let mut v = Vec::new();
        doc! {"_id": i, "p": "x".repeat(pad)}
            .to_writer(&mut v)
            .expect("encode");
        v
    }

    use DocCount as Count;

    /// Archives of older mongodump versions have no EOF for a view; a
    /// collection without one is still a truncation.
    #[test]
    fn a_view_may_lack_its_eof_and_a_collection_may_not() {
        let mut p = prelude(&["coll", "v"]);
        p.entries[1].kind = "view".into();
        let mut w = Writer::start(Vec::new(), &p).expect("start");
        w.doc("d", "coll", &doc_bytes(1, 3)).expect("doc");
        w.end("d", "coll").expect("end");
        let bytes = w.finish().expect("finish");
        let mut n = Count(0);
        read(&bytes[..], "t", &mut n).expect("a view without its EOF reads");
        assert_eq!(n.0, 1);
        p.entries[1].kind = String::new();
        let mut w = Writer::start(Vec::new(), &p).expect("start");
        w.end("d", "coll").expect("end");
        let bytes = w.finish().expect("finish");
        let e = read(&bytes[..], "t", &mut Count(0)).expect_err("no EOF");
        assert!(e.to_string().contains("d.v has no EOF"), "{e}");
    }

    #[test]
    fn a_large_collection_is_cut_into_segments_and_reads_back() {
        let mut w = Writer::start(Vec::new(), &prelude(&["big", "none"])).expect("start");
        for i in 0..17 {
            w.doc("d", "big", &doc_bytes(i, 1 << 20)).expect("doc");
        }
        w.end("d", "big").expect("end");
        assert_eq!(w.end("d", "none").expect("empty"), 0);
        let bytes = w.finish().expect("finish");
        let mut header = Vec::new();
        doc! {"db": "d", "collection": "big", "EOF": false, "CRC": Bson::Int64(0)}
            .to_writer(&mut header)
            .expect("encode");
        let segments = bytes.windows(header.len()).filter(|w| *w == header).count();
        assert_eq!(segments, 2, "17 MiB in segments of at most 16 MiB");
        let mut n = Count(0);
        let counts = read(&bytes[..], "t", &mut n).expect("reads");
        assert_eq!(n.0, 17);
        assert_eq!(counts["d.none"], (0, 0, 0));
    }

    #[test]
    fn the_writer_refuses_a_collection_before_the_last_one_ended() {
        let mut w = Writer::start(Vec::new(), &prelude(&["a", "b"])).expect("start");
        w.doc("d", "a", &doc_bytes(1, 1)).expect("doc");
        let e = w.doc("d", "b", &doc_bytes(2, 1)).expect_err("refused");
        assert!(e.to_string().contains("d.a must end before d.b"), "{e}");
        assert!(w.end("d", "b").is_err());
        w.end("d", "a").expect("end a");
        w.end("d", "b").expect("then b");
    }
}
