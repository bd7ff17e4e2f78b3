//! The conformance suite every [`Backend`] must pass.
//!
//! It is public so that each backend's tests (local, memory, S3) run the
//! very same checks. It uses names that cannot collide with real objects
//! and removes what it creates.

use super::{Backend, FileKind};
use crate::error::Error;
use bytes::Bytes;

fn check(cond: bool, what: &str) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(format!("backend conformance: {what}"))
    }
}

/// Runs every check against `b`; the error names the first failed one.
pub fn run(b: &dyn Backend) -> Result<(), String> {
    let name = format!("{:064x}", 0xc0ffee_u64);
    let other = format!("{:064x}", 0xbeef_u64);
    let e = |e: Error| format!("backend conformance: unexpected error: {e}");
    for kind in [
        FileKind::Key,
        FileKind::Index,
        FileKind::Snapshot,
        FileKind::Pack,
    ] {
        let before = b.list(kind).map_err(e)?;
        check(!before.iter().any(|(n, _)| *n == name), "test name free")?;
        let data = Bytes::from((0..100_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>());
        b.create(kind, &name, data.clone()).map_err(e)?;
        let got = b.read(kind, &name).map_err(e)?;
        check(got == data, "read returns what was written")?;
        let r = b.read_range(kind, &name, 1000..1010).map_err(e)?;
        check(
            r.as_ref() == &data[1000..1010],
            "read_range returns the range",
        )?;
        check(
            b.read_range(kind, &name, 99_990..100_010).is_err(),
            "a range past the end is an error",
        )?;
        let dup = b.create(kind, &name, Bytes::from_static(b"other"));
        check(
            matches!(dup, Err(Error::AlreadyExists { .. })),
            "create never overwrites",
        )?;
        check(
            b.read(kind, &name).map_err(e)? == data,
            "content unchanged after a refused create",
        )?;
        let listed = b.list(kind).map_err(e)?;
        check(
            listed.iter().any(|(n, s)| *n == name && *s == 100_000),
            "list shows name and size",
        )?;
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
        b.delete(kind, &name).map_err(e)?;
        b.delete(kind, &name).map_err(e)?;
        check(
            matches!(b.read(kind, &name), Err(Error::NotFound { .. })),
            "deleted object is gone",
        )?;
        check(
            !b.list(kind).map_err(e)?.iter().any(|(n, _)| *n == name),
            "deleted object not listed",
        )?;
    }
    Ok(())
}
