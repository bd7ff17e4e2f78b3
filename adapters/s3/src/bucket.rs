//! A bucket (or a prefix of it) as seen by the adapter.

use bytes::Bytes;
use cairn::{parse_s3_url, s3_store, AsyncBridge, Error, Result, S3Options};
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, ObjectMeta, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, PutOptions, PutPayload,
};
use std::io::Read;
use std::sync::Arc;

/// Objects up to this size are uploaded with one PUT; larger ones in parts.
pub const MULTIPART_THRESHOLD: usize = 64 << 20;
const PART_SIZE: usize = 16 << 20;

/// One bucket prefix, with a runtime for its requests.
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    bridge: Arc<AsyncBridge>,
    /// Bucket name.
    pub name: String,
    /// Key prefix (no leading or trailing `/`; empty for the whole bucket).
    pub prefix: String,
}

fn err(op: &str, e: impl std::fmt::Display) -> Error {
    Error::Source {
        name: format!("s3 {op}"),
        detail: e.to_string(),
    }
}

impl Bucket {
    /// Opens `s3://bucket[/prefix]`.
    pub fn open(url: &str, opts: &S3Options) -> Result<Self> {
        let (name, prefix) = parse_s3_url(url)?;
        let store = s3_store(&name, opts)?;
        Ok(Bucket {
            store,
            bridge: Arc::new(AsyncBridge::new(2)?),
            name,
            prefix,
        })
    }

    /// Full key of a key relative to the prefix.
    pub fn full_key(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }

    /// Every object under the prefix, sorted by key.
    pub fn list(&self) -> Result<Vec<ObjectMeta>> {
        let store = self.store.clone();
        let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.clone()));
        let mut all = self
            .bridge
            .run(async move { store.list(prefix.as_ref()).try_collect::<Vec<_>>().await })?
            .map_err(|e| err(&format!("list {}", self.name), e))?;
        all.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(all)
    }

    /// Deletes an object (for cleaning up drills' scratch prefixes).
    pub fn delete(&self, key: &str) -> Result<()> {
        let store = self.store.clone();
        let path = Path::from(key);
        self.bridge
            .run(async move { store.delete(&path).await })?
            .map_err(|e| err(&format!("delete {key}"), e))
    }

    /// Opens an object for streaming: its attributes and a reader.
    pub fn get(&self, key: &str) -> Result<(Attributes, Box<dyn Read + Send>)> {
        let store = self.store.clone();
        let path = Path::from(key);
        let res = self
            .bridge
            .run(async move { store.get(&path).await })?
            .map_err(|e| err(&format!("get {key}"), e))?;
        let attributes = res.attributes.clone();
        let stream = res.into_stream();
        Ok((
            attributes,
            Box::new(StreamReader {
                bridge: self.bridge.clone(),
                stream: Some(stream),
                buf: Bytes::new(),
                key: key.to_string(),
            }),
        ))
    }

    /// Writes an object with attributes from a reader of known size; large
    /// objects go up in parts, never whole in memory.
    pub fn put(
        &self,
        key: &str,
        attributes: Attributes,
        size: u64,
        write: impl FnOnce(&mut dyn std::io::Write) -> Result<u64>,
    ) -> Result<()> {
        let path = Path::from(key);
        if size as usize <= MULTIPART_THRESHOLD {
            let mut buf = Vec::with_capacity(size as usize);
            write(&mut buf)?;
            let store = self.store.clone();
            let opts = PutOptions {
                attributes,
                ..Default::default()
            };
            return self
                .bridge
                .run(async move { store.put_opts(&path, PutPayload::from(buf), opts).await })?
                .map(|_| ())
                .map_err(|e| err(&format!("put {key}"), e));
        }
        let store = self.store.clone();
        let opts = PutMultipartOptions {
            attributes,
            ..Default::default()
        };
        let upload = self
            .bridge
            .run(async move { store.put_multipart_opts(&path, opts).await })?
            .map_err(|e| err(&format!("start upload of {key}"), e))?;
        let mut w = PartWriter {
            bridge: self.bridge.clone(),
            upload: Some(upload),
            buf: Vec::with_capacity(PART_SIZE),
            key: key.to_string(),
            failed: None,
        };
        let written = write(&mut w);
        let flushed = written.and_then(|_| w.finish());
        if flushed.is_err() {
            w.abort();
        }
        flushed
    }
}

/// Adapts an object's body stream to `Read`.
struct StreamReader {
    bridge: Arc<AsyncBridge>,
    stream: Option<BoxStream<'static, object_store::Result<Bytes>>>,
    buf: Bytes,
    key: String,
}

impl Read for StreamReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.buf.is_empty() {
            let Some(mut s) = self.stream.take() else {
                return Ok(0);
            };
            let (next, s) = self
                .bridge
                .run(async move {
                    let n = s.next().await;
                    (n, s)
                })
                .map_err(std::io::Error::other)?;
            match next {
                None => return Ok(0),
                Some(Ok(b)) => {
                    self.buf = b;
                    self.stream = Some(s);
                }
                Some(Err(e)) => {
                    return Err(std::io::Error::other(format!(
                        "reading s3 object {}: {e}",
                        self.key
                    )))
                }
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf = self.buf.slice(n..);
        Ok(n)
    }
}

/// Buffers parts of a multipart upload.
struct PartWriter {
    bridge: Arc<AsyncBridge>,
    upload: Option<Box<dyn object_store::MultipartUpload>>,
    buf: Vec<u8>,
    key: String,
    failed: Option<String>,
}

impl PartWriter {
    fn send_part(&mut self) -> Result<()> {
        let part = std::mem::replace(&mut self.buf, Vec::with_capacity(PART_SIZE));
        let upload = self
            .upload
            .as_mut()
            .ok_or_else(|| Error::invalid("upload finished"))?;
        let fut = upload.put_part(PutPayload::from(part));
        self.bridge
            .run(fut)?
            .map_err(|e| err(&format!("upload part of {}", self.key), e))
    }

    fn finish(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            self.send_part()?;
        }
        let mut upload = self
            .upload
            .take()
            .ok_or_else(|| Error::invalid("upload finished"))?;
        self.bridge
            .run(async move { upload.complete().await })?
            .map(|_| ())
            .map_err(|e| err(&format!("complete upload of {}", self.key), e))
    }

    fn abort(&mut self) {
        if let Some(mut upload) = self.upload.take() {
            let _ = self.bridge.run(async move { upload.abort().await });
        }
    }
}

impl std::io::Write for PartWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if let Some(f) = &self.failed {
            return Err(std::io::Error::other(f.clone()));
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= PART_SIZE {
            if let Err(e) = self.send_part() {
                self.failed = Some(e.to_string());
                return Err(std::io::Error::other(e.to_string()));
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Content type and user metadata as node info.
pub(crate) fn attributes_to_info(
    a: &Attributes,
    info: &mut std::collections::BTreeMap<String, String>,
) {
    for (k, v) in a {
        match k {
            Attribute::ContentType => {
                info.insert(crate::info::CONTENT_TYPE.into(), v.as_ref().to_string());
            }
            Attribute::Metadata(name) => {
                info.insert(
                    format!("{}{name}", crate::info::META_PREFIX),
                    v.as_ref().to_string(),
                );
            }
            _ => {}
        }
    }
}

/// Node info back to attributes.
pub(crate) fn info_to_attributes(info: &std::collections::BTreeMap<String, String>) -> Attributes {
    let mut a = Attributes::new();
    for (k, v) in info {
        if k == crate::info::CONTENT_TYPE {
            a.insert(Attribute::ContentType, AttributeValue::from(v.clone()));
        } else if let Some(name) = k.strip_prefix(crate::info::META_PREFIX) {
            a.insert(
                Attribute::Metadata(name.to_string().into()),
                AttributeValue::from(v.clone()),
            );
        }
    }
    a
}
