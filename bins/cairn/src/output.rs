//! Formatting helpers.

/// Prints a JSON value on one line.
pub fn json(v: &serde_json::Value) {
    write_line(format_args!("{v}"));
}

/// Human-readable byte size.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// Unix permission string, e.g. `drwxr-xr-x`.
pub fn mode_string(type_char: char, mode: u32) -> String {
    let t = match type_char {
        'd' => 'd',
        'l' => 'l',
        's' => 's',
        _ => '-',
    };
    let mut s = String::from(t);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// Snapshot summary as JSON.
pub fn summary_json(s: &cairn::snapshot::Summary) -> serde_json::Value {
    serde_json::json!({
        "files": s.files, "dirs": s.dirs, "streams": s.streams,
        "unchanged_files": s.unchanged_files, "bytes_read": s.bytes_read,
        "total_bytes": s.total_bytes, "blobs_added": s.blobs_added,
        "bytes_added": s.bytes_added, "raw_bytes_added": s.raw_bytes_added,
        "errors": s.errors, "duration_ms": s.duration_ms,
    })
}

/// The `summary` line of a command that wrote a snapshot.
pub fn snapshot_summary(res: &cairn::BackupResult) {
    let mut v = snapshot_json(&res.id, &res.snapshot);
    v["message_type"] = "summary".into();
    v["snapshot_id"] = res.id.to_hex().into();
    v["warnings"] = res.warnings.clone().into();
    json(&v);
}

/// Snapshot as JSON.
pub fn snapshot_json(
    id: &cairn::id::SnapshotId,
    s: &cairn::snapshot::Snapshot,
) -> serde_json::Value {
    serde_json::json!({
        "id": id.to_hex(), "short_id": id.short(), "time": s.time_string(),
        "time_ns": s.time_ns, "host": s.host, "username": s.username,
        "tags": s.tags, "paths": s.paths, "source": s.source,
        "parent": s.parent.map(|p| p.to_hex()), "tree": s.tree.to_hex(),
        "program": s.program, "summary": summary_json(&s.summary), "info": s.info,
    })
}

/// Writes one line to stdout. A closed pipe (`cairn ls | head`) ends the
/// process quietly instead of panicking.
pub fn write_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    if let Err(e) = writeln!(o, "{args}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// `println!` that survives a closed pipe.
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::output::write_line(format_args!($($t)*)) };
}
