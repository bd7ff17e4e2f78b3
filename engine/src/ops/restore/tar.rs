//! `dump` of a directory: its subtree as a POSIX tar stream (ustar
//! headers, pax records for long names and large sizes), written in order
//! without temporary files. Files and streams are regular files,
//! directories, symbolic links and FIFOs keep their kind; devices are left
//! out and counted.

use crate::error::{Error, Result};
use crate::id::SnapshotId;
use crate::repo::Repository;
use crate::tree::{Node, NodeKind};
use std::io::Write;

/// What [`Repository::dump_tar`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TarReport {
    /// Entries written.
    pub entries: u64,
    /// Content bytes written.
    pub bytes: u64,
    /// Device nodes left out.
    pub skipped: u64,
}

const BLOCK: usize = 512;
const USTAR_SIZE_MAX: u64 = 0o77777777777;

fn octal(field: &mut [u8], v: u64) {
    let text = format!("{v:0width$o}", width = field.len() - 1);
    let b = text.as_bytes();
    let n = b.len().min(field.len() - 1);
    field[..n].copy_from_slice(&b[b.len() - n..]);
    field[field.len() - 1] = 0;
}

fn put(field: &mut [u8], v: &[u8]) {
    let n = v.len().min(field.len());
    field[..n].copy_from_slice(&v[..n]);
}

/// One 512-byte ustar header.
fn header(name: &[u8], node: &Node, kind: u8, size: u64, link: &[u8]) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    put(&mut h[0..100], name);
    octal(&mut h[100..108], u64::from(node.meta.mode & 0o7777));
    octal(&mut h[108..116], u64::from(node.meta.uid).min(0o7777777));
    octal(&mut h[116..124], u64::from(node.meta.gid).min(0o7777777));
    octal(&mut h[124..136], size.min(USTAR_SIZE_MAX));
    octal(
        &mut h[136..148],
        u64::try_from(node.meta.mtime_ns.div_euclid(1_000_000_000)).unwrap_or(0),
    );
    h[156] = kind;
    put(&mut h[157..257], link);
    put(&mut h[257..263], b"ustar\0");
    put(&mut h[263..265], b"00");
    put(&mut h[265..297], node.meta.user.as_bytes());
    put(&mut h[297..329], node.meta.group.as_bytes());
    h[148..156].copy_from_slice(b"        ");
    let sum: u64 = h.iter().map(|b| u64::from(*b)).sum();
    let text = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(text.as_bytes());
    h
}

/// A pax record `LEN key=value\n`, whose length counts itself.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3;
    let mut len = body + body.to_string().len();
    if len.to_string().len() != body.to_string().len() {
        len += 1;
    }
    let mut r = format!("{len} {key}=").into_bytes();
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

fn pad(out: &mut dyn Write, n: u64) -> std::io::Result<()> {
    let rest = (BLOCK as u64 - n % BLOCK as u64) % BLOCK as u64;
    out.write_all(&vec![0u8; rest as usize])
}

struct TarWriter<'a> {
    repo: &'a Repository,
    out: &'a mut dyn Write,
    report: TarReport,
}

impl TarWriter<'_> {
    fn io(&self, e: std::io::Error) -> Error {
        Error::io("tar output", e)
    }

    fn entry(&mut self, path: &str, node: &Node) -> Result<()> {
        let rel = path.trim_start_matches('/');
        let (kind, size, link): (u8, u64, Vec<u8>) = match &node.kind {
            NodeKind::Dir { .. } => (b'5', 0, Vec::new()),
            NodeKind::Symlink { target } => (b'2', 0, target.clone()),
            NodeKind::Fifo => (b'6', 0, Vec::new()),
            NodeKind::CharDevice { .. } | NodeKind::BlockDevice { .. } => {
                self.report.skipped += 1;
                return Ok(());
            }
            _ if node.content().is_some() => (b'0', node.size(), Vec::new()),
            _ => {
                self.report.skipped += 1;
                return Ok(());
            }
        };
        let mut name = rel.as_bytes().to_vec();
        if kind == b'5' && !name.ends_with(b"/") {
            name.push(b'/');
        }
        let mut pax = Vec::new();
        if name.len() > 100 {
            pax.extend(pax_record("path", &name));
        }
        if link.len() > 100 {
            pax.extend(pax_record("linkpath", &link));
        }
        if size > USTAR_SIZE_MAX {
            pax.extend(pax_record("size", size.to_string().as_bytes()));
        }
        if !pax.is_empty() {
            let h = header(b"././@PaxHeader", node, b'x', pax.len() as u64, b"");
            self.out.write_all(&h).map_err(|e| self.io(e))?;
            self.out.write_all(&pax).map_err(|e| self.io(e))?;
            pad(self.out, pax.len() as u64).map_err(|e| self.io(e))?;
        }
        let h = header(&name, node, kind, size, &link);
        self.out.write_all(&h).map_err(|e| self.io(e))?;
        if kind == b'0' {
            let written = self.repo.dump_node(node, self.out)?;
            if written != size {
                return Err(Error::corrupt(
                    path,
                    format!("content is {written} bytes, its node says {size}: the tar stream is cut here"),
                ));
            }
            pad(self.out, size).map_err(|e| self.io(e))?;
            self.report.bytes += size;
        }
        self.report.entries += 1;
        Ok(())
    }
}

impl Repository {
    /// Writes the subtree at `path` (`/` for everything) of a snapshot as
    /// a tar stream to `out`.
    pub fn dump_tar(
        &self,
        snapshot: &SnapshotId,
        path: &str,
        out: &mut dyn Write,
    ) -> Result<TarReport> {
        let trimmed = path.trim_end_matches('/');
        let mut w = TarWriter {
            repo: self,
            out,
            report: TarReport::default(),
        };
        if trimmed.is_empty() {
            let root = self.load_snapshot(snapshot)?.tree;
            return self.tar_walk(&root, "", w);
        }
        let node = self.find_path(snapshot, trimmed)?;
        let NodeKind::Dir { subtree } = &node.kind else {
            return Err(Error::invalid(format!("{path} is not a directory")));
        };
        let prefix = format!("/{}", trimmed.trim_start_matches('/'));
        w.entry(&prefix, &node)?;
        self.tar_walk(subtree, &prefix, w)
    }

    fn tar_walk(
        &self,
        tree: &crate::id::BlobId,
        prefix: &str,
        mut w: TarWriter<'_>,
    ) -> Result<TarReport> {
        self.walk_tree(tree, prefix, &mut |p, n| w.entry(p, n))?;
        w.out.write_all(&[0u8; 2 * BLOCK]).map_err(|e| w.io(e))?;
        w.out.flush().map_err(|e| w.io(e))?;
        Ok(w.report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_count_their_own_length() {
        let r = pax_record("path", b"a");
        assert_eq!(r, b"9 path=a\n");
        let long = vec![b'x'; 95];
        let r = pax_record("path", &long);
        assert_eq!(r.len().to_string(), String::from_utf8_lossy(&r[..3]));
    }
}
