//! Raw BSON documents: read one at a time from a byte stream, checked
//! whole (length, terminator and every element, nested ones too), never
//! decoded into values and encoded again.

use bson::{RawBsonRef, RawDocument};
use cairn::{Error, Result};
use std::io::Read;

/// The smallest document: its length and its terminating zero.
pub const MIN_DOC: usize = 5;
/// The largest document accepted: the server's 16 MiB plus the slack it
/// allows internally.
pub const MAX_DOC: usize = 16 * 1024 * 1024 + 16 * 1024;
/// The four bytes that end an archive section (`0xffffffff`).
pub const TERMINATOR: [u8; 4] = [0xff; 4];

/// What comes next in an archive or a `.bson` stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Item {
    /// A whole document.
    Doc(Vec<u8>),
    /// The section terminator.
    Terminator,
    /// The end of the input, between items.
    End,
}

/// Reads as many bytes as there are, up to `buf.len()`.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads the next item; `what` names the input in errors.
pub fn read_item(r: &mut impl Read, what: &str) -> Result<Item> {
    let mut len = [0u8; 4];
    let io = |e: std::io::Error| Error::Source {
        name: what.to_string(),
        detail: format!("read failed: {e}"),
    };
    match fill(r, &mut len).map_err(io)? {
        0 => return Ok(Item::End),
        4 => {}
        n => {
            return Err(truncated(
                what,
                format!("{n} of a document's 4 length bytes"),
            ))
        }
    }
    if len == TERMINATOR {
        return Ok(Item::Terminator);
    }
    let size = claimed_size(len, what)?;
    let mut doc = vec![0u8; size];
    doc[..4].copy_from_slice(&len);
    let got = fill(r, &mut doc[4..]).map_err(io)?;
    if got < size - 4 {
        return Err(truncated(
            what,
            format!("{} of a {size}-byte document", got + 4),
        ));
    }
    check(&doc).map_err(|d| Error::corrupt(what, d))?;
    Ok(Item::Doc(doc))
}

/// The size a document's first four bytes claim, if a document can be
/// that large.
fn claimed_size(len: [u8; 4], what: &str) -> Result<usize> {
    let size = u32::from_le_bytes(len) as usize;
    if !(MIN_DOC..=MAX_DOC).contains(&size) {
        return Err(Error::corrupt(
            what,
            format!("a document claims {size} bytes (a BSON document has {MIN_DOC} to {MAX_DOC})"),
        ));
    }
    Ok(size)
}

fn truncated(what: &str, detail: String) -> Error {
    Error::corrupt(what, format!("truncated: the input ends after {detail}"))
}

/// Checks one whole document: its framing and every element, nested
/// documents and arrays included.
pub fn check(bytes: &[u8]) -> std::result::Result<(), String> {
    let doc = RawDocument::from_bytes(bytes).map_err(|e| format!("not a BSON document: {e}"))?;
    check_elements(doc, 0)
}

fn check_elements(doc: &RawDocument, depth: usize) -> std::result::Result<(), String> {
    if depth > 200 {
        return Err("documents nested more than 200 deep".into());
    }
    for el in doc.iter() {
        let (_, value) = el.map_err(|e| format!("damaged BSON element: {e}"))?;
        match value {
            RawBsonRef::Document(d) => check_elements(d, depth + 1)?,
            RawBsonRef::Array(a) => {
                let d = RawDocument::from_bytes(a.as_bytes())
                    .map_err(|e| format!("damaged BSON array: {e}"))?;
                check_elements(d, depth + 1)?
            }
            RawBsonRef::JavaScriptCodeWithScope(c) => check_elements(c.scope, depth + 1)?,
            _ => {}
        }
    }
    Ok(())
}

/// Splits a byte stream written in pieces into whole documents, each
/// checked and handed to `each`: the sink a stored `.bson` stream is
/// restored through.
pub struct Splitter<F: FnMut(Vec<u8>) -> Result<()>> {
    buf: Vec<u8>,
    each: F,
    failed: Option<Error>,
    what: String,
}

impl<F: FnMut(Vec<u8>) -> Result<()>> Splitter<F> {
    /// A splitter handing documents to `each`.
    pub fn new(what: impl Into<String>, each: F) -> Self {
        Splitter {
            buf: Vec::new(),
            each,
            failed: None,
            what: what.into(),
        }
    }

    fn drain(&mut self) -> Result<()> {
        let mut at = 0;
        while self.buf.len() - at >= 4 {
            let b = &self.buf[at..at + 4];
            let size = claimed_size([b[0], b[1], b[2], b[3]], &self.what)?;
            if self.buf.len() - at < size {
                break;
            }
            let doc = self.buf[at..at + size].to_vec();
            check(&doc).map_err(|d| Error::corrupt(&self.what, d))?;
            at += size;
            (self.each)(doc)?;
        }
        self.buf.drain(..at);
        Ok(())
    }

    /// Ends the input: an error if a document was cut short, or if a call
    /// of `each` failed (that error).
    pub fn finish(mut self) -> Result<()> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if !self.buf.is_empty() {
            return Err(truncated(
                &self.what,
                format!("{} bytes of an unfinished document", self.buf.len()),
            ));
        }
        Ok(())
    }
}

impl<F: FnMut(Vec<u8>) -> Result<()>> std::io::Write for Splitter<F> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.failed.is_some() {
            return Err(std::io::Error::other("an earlier write failed"));
        }
        self.buf.extend_from_slice(data);
        if let Err(e) = self.drain() {
            let msg = e.to_string();
            self.failed = Some(e);
            return Err(std::io::Error::other(msg));
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, Document};
    use std::io::Write;

    fn bytes(d: &Document) -> Vec<u8> {
        let mut v = Vec::new();
        d.to_writer(&mut v).expect("encode");
        v
    }

    #[test]
    fn reads_documents_terminators_and_the_end() {
        let mut input = bytes(&doc! {"_id": 1, "a": {"b": [1, 2]}});
        input.extend_from_slice(&TERMINATOR);
        let mut r = &input[..];
        assert!(matches!(read_item(&mut r, "t").expect("doc"), Item::Doc(_)));
        assert_eq!(read_item(&mut r, "t").expect("term"), Item::Terminator);
        assert_eq!(read_item(&mut r, "t").expect("end"), Item::End);
    }

    #[test]
    fn a_cut_or_damaged_document_is_refused() {
        let good = bytes(&doc! {"_id": 1, "s": "text"});
        for cut in 1..good.len() {
            let e = read_item(&mut &good[..cut], "t").expect_err("cut");
            assert!(e.to_string().contains("truncated"), "{e}");
        }
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] = 1;
        assert!(read_item(&mut &bad[..], "t").is_err());
        let mut inner = bytes(&doc! {"n": {"x": "yz"}});
        inner[7] = 0x7f; // the nested document's length
        assert!(check(&inner).is_err());
    }

    #[test]
    fn the_splitter_cuts_at_document_bounds_whatever_the_pieces() {
        let docs: Vec<Vec<u8>> = (0..20)
            .map(|i| bytes(&doc! {"_id": i, "p": "x".repeat(i as usize)}))
            .collect();
        let all: Vec<u8> = docs.concat();
        let mut got = Vec::new();
        let mut s = Splitter::new("t", |d| {
            got.push(d);
            Ok(())
        });
        for piece in all.chunks(7) {
            s.write_all(piece).expect("write");
        }
        s.finish().expect("whole");
        assert_eq!(got, docs);
        let mut s = Splitter::new("t", |_| Ok(()));
        s.write_all(&all[..all.len() - 3]).expect("write");
        assert!(s.finish().is_err());
    }
}
