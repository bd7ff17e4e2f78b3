//! The conformance suite every [`Backend`] must pass.
//!
//! It is public so that each backend's tests (memory, local, S3 on moto, and
//! the retrying and fault-injecting wrappers) run the very same checks. It
//! covers every method of the trait and every [`FileKind`]. It uses names
//! that cannot collide with real objects and removes what it creates; the
//! `config` object has one fixed name, so it is exercised only when the
//! store holds none.

use super::{Backend, FileKind};
use crate::error::Error;
use bytes::Bytes;

/// Every kind, in the order the suite checks them.
pub const KINDS: [FileKind; 8] = [
    FileKind::Config,
    FileKind::Key,
    FileKind::Index,
    FileKind::Snapshot,
    FileKind::Pack,
    FileKind::Plan,
    FileKind::Session,
    FileKind::Check,
];

/// Tolerated difference between the storage's clock and ours.
const CLOCK_SLACK_NS: i64 = 3_600 * 1_000_000_000;

fn check(cond: bool, what: &str) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(format!("backend conformance: {what}"))
    }
}

fn unexpected(kind: FileKind) -> impl Fn(Error) -> String {
    move |e| {
        format!(
            "backend conformance ({}): unexpected error: {e}",
            kind.name()
        )
    }
}

fn now_ns() -> i64 {
    crate::snapshot::now_ns()
}

/// Runs every check against `b`; the error names the first failed one.
pub fn run(b: &dyn Backend) -> Result<(), String> {
    check(b.concurrency() >= 1, "concurrency is at least 1")?;
    check(
        b.max_range_read() >= 1 << 16,
        "max_range_read is at least 64 KiB",
    )?;
    check(!b.location().is_empty(), "location names the store")?;
    for kind in KINDS {
        let name = match kind {
            FileKind::Config => String::new(),
            _ => format!("{:064x}", 0xc0ffee_u64),
        };
        if kind == FileKind::Config && b.read(kind, "").is_ok() {
            continue;
        }
        objects(b, kind, &name)?;
        parts(b, kind, &name)?;
    }
    Ok(())
}

/// create, read, read_range, list, list_info, size, list_leftovers and
/// delete on one object of `kind`.
fn objects(b: &dyn Backend, kind: FileKind, name: &str) -> Result<(), String> {
    let e = unexpected(kind);
    let other = format!("{:064x}", 0xbeef_u64);
    let listed_kind = kind != FileKind::Config;
    if listed_kind {
        let before = b.list(kind).map_err(&e)?;
        check(!before.iter().any(|(n, _)| n == name), "test name free")?;
    }
    let data = Bytes::from((0..100_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>());
    let started = now_ns();
    b.create(kind, name, data.clone()).map_err(&e)?;
    check(
        b.read(kind, name).map_err(&e)? == data,
        "read returns what was written",
    )?;
    let r = b.read_range(kind, name, 1000..1010).map_err(&e)?;
    check(
        r.as_ref() == &data[1000..1010],
        "read_range returns the range",
    )?;
    let tail = b.read_range(kind, name, 99_990..100_000).map_err(&e)?;
    check(
        tail.as_ref() == &data[99_990..],
        "read_range reaches the last byte",
    )?;
    check(
        b.read_range(kind, name, 99_990..100_010).is_err(),
        "a range past the end is an error",
    )?;
    check(
        b.size(kind, name).map_err(&e)? == 100_000,
        "size is the object's size",
    )?;
    let dup = b.create(kind, name, Bytes::from_static(b"other"));
    check(
        matches!(dup, Err(Error::AlreadyExists { .. })),
        "create never overwrites",
    )?;
    check(
        b.read(kind, name).map_err(&e)? == data,
        "content unchanged after a refused create",
    )?;
    if listed_kind {
        listing(b, kind, name, started)?;
    }
    check(
        !b.list_leftovers(kind)
            .map_err(&e)?
            .iter()
            .any(|o| o.name == name),
        "list_leftovers never lists an object",
    )?;
    if kind != FileKind::Config {
        check(
            matches!(b.read(kind, &other), Err(Error::NotFound { .. })),
            "missing object is NotFound",
        )?;
        check(
            matches!(
                b.read_range(kind, &other, 0..1),
                Err(Error::NotFound { .. })
            ),
            "missing range is NotFound",
        )?;
        check(
            matches!(b.size(kind, &other), Err(Error::NotFound { .. })),
            "size of a missing object is NotFound",
        )?;
    }
    b.delete(kind, name).map_err(&e)?;
    b.delete(kind, name).map_err(&e)?;
    check(
        matches!(b.read(kind, name), Err(Error::NotFound { .. })),
        "deleted object is gone",
    )?;
    if listed_kind {
        check(
            !b.list(kind).map_err(&e)?.iter().any(|(n, _)| n == name),
            "deleted object not listed",
        )?;
    }
    Ok(())
}

/// list and list_info agree, show the size, and give a creation time by a
/// clock close to ours; an object listed under one kind is not listed under
/// another.
fn listing(b: &dyn Backend, kind: FileKind, name: &str, started: i64) -> Result<(), String> {
    let e = unexpected(kind);
    let listed = b.list(kind).map_err(&e)?;
    check(
        listed.iter().any(|(n, s)| n == name && *s == 100_000),
        "list shows name and size",
    )?;
    let info = b.list_info(kind).map_err(&e)?;
    let mine = info.iter().find(|o| o.name == name);
    check(
        mine.is_some_and(|o| o.size == 100_000),
        "list_info shows name and size",
    )?;
    let t = mine.map(|o| o.modified_ns).unwrap_or(0);
    check(
        t > started - CLOCK_SLACK_NS && t < now_ns() + CLOCK_SLACK_NS,
        "list_info gives the creation time (storage clock within an hour of ours)",
    )?;
    check(
        info.len() == listed.len(),
        "list and list_info list the same objects",
    )?;
    for k in KINDS
        .into_iter()
        .filter(|k| *k != kind && *k != FileKind::Config)
    {
        check(
            !b.list(k).map_err(&e)?.iter().any(|(n, _)| n == name),
            "each kind is its own namespace",
        )?;
    }
    Ok(())
}

/// create_parts stores the parts in order, as one object, and never
/// overwrites either.
fn parts(b: &dyn Backend, kind: FileKind, name: &str) -> Result<(), String> {
    let e = unexpected(kind);
    let pieces: Vec<Bytes> = (0..5u8)
        .map(|i| Bytes::from(vec![i; 3000 + usize::from(i) * 1000]))
        .collect();
    let whole: Vec<u8> = pieces.concat();
    b.create_parts(kind, name, pieces.clone()).map_err(&e)?;
    check(
        b.read(kind, name).map_err(&e)?.as_ref() == whole.as_slice(),
        "create_parts stores the parts in order",
    )?;
    check(
        b.size(kind, name).map_err(&e)? == whole.len() as u64,
        "create_parts: size is the sum of the parts",
    )?;
    check(
        matches!(
            b.create_parts(kind, name, vec![Bytes::from_static(b"x")]),
            Err(Error::AlreadyExists { .. })
        ),
        "create_parts never overwrites",
    )?;
    b.delete(kind, name).map_err(&e)?;
    check(
        matches!(b.read(kind, name), Err(Error::NotFound { .. })),
        "deleted object is gone",
    )
}
