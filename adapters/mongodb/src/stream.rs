//! A collection's documents as a byte stream: the raw BSON the server
//! sends, one document after another, never decoded, counted and hashed on
//! the way into the repository.

use crate::counter::Counter;
use crate::index::Stored;
use bson::RawDocumentBuf;
use mongodb::sync::{ClientSession, SessionCursor};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Every collection's totals once its stream ended, by namespace.
pub type Tally = Arc<Mutex<BTreeMap<String, Stored>>>;

/// The documents of one cursor.
pub struct CursorReader {
    pub(crate) cursor: SessionCursor<RawDocumentBuf>,
    pub(crate) session: Arc<Mutex<ClientSession>>,
    pub(crate) db: String,
    pub(crate) collection: String,
    pub(crate) kind: String,
    pub(crate) tally: Tally,
    pub(crate) cancel: Arc<AtomicBool>,
    counter: Counter,
    /// Bytes of the current document already handed out; `None` before the
    /// first document.
    at: Option<usize>,
    done: bool,
}

fn io_err(msg: String) -> std::io::Error {
    std::io::Error::other(msg)
}

impl CursorReader {
    /// A reader of `cursor`'s documents.
    pub fn new(
        cursor: SessionCursor<RawDocumentBuf>,
        session: Arc<Mutex<ClientSession>>,
        ns: (&str, &str, &str),
        tally: Tally,
        cancel: Arc<AtomicBool>,
    ) -> Self {
        CursorReader {
            cursor,
            session,
            db: ns.0.into(),
            collection: ns.1.into(),
            kind: ns.2.into(),
            tally,
            cancel,
            counter: Counter::default(),
            at: None,
            done: false,
        }
    }

    /// Moves to the next document; false at the end.
    fn advance(&mut self) -> std::io::Result<bool> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(io_err("interrupted".into()));
        }
        let mut s = self
            .session
            .lock()
            .map_err(|_| io_err("session lock poisoned".into()))?;
        let more = self.cursor.advance(&mut s).map_err(|e| {
            io_err(format!(
                "reading {}.{} from MongoDB: {e}",
                self.db, self.collection
            ))
        })?;
        drop(s);
        if more {
            self.counter.add(self.cursor.current().as_bytes());
            self.at = Some(0);
        } else {
            self.done = true;
            let stored = self.counter.stored(&self.db, &self.collection, &self.kind);
            if let Ok(mut t) = self.tally.lock() {
                t.insert(stored.ns(), stored);
            }
        }
        Ok(more)
    }
}

impl Read for CursorReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < out.len() && !self.done {
            let at = match self.at {
                Some(at) if at < self.cursor.current().as_bytes().len() => at,
                _ => {
                    if !self.advance()? {
                        break;
                    }
                    0
                }
            };
            let doc = self.cursor.current().as_bytes();
            let take = (doc.len() - at).min(out.len() - n);
            out[n..n + take].copy_from_slice(&doc[at..at + take]);
            n += take;
            self.at = Some(at + take);
            if n > 0 && self.at == Some(doc.len()) && n >= out.len() / 2 {
                break;
            }
        }
        Ok(n)
    }
}
