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
        'd' | 'l' | 's' | 'p' | 'c' | 'b' => type_char,
        '=' => 's',
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

/// "12 MiB read, 3 MiB new (1 MiB stored) in 2.5s" for a backup summary.
pub fn transfer(s: &cairn::Summary) -> String {
    format!(
        "{} read, {} new ({} stored) in {:.1}s",
        bytes(s.bytes_read),
        bytes(s.raw_bytes_added),
        bytes(s.bytes_added),
        s.duration_ms as f64 / 1000.0
    )
}

/// Snapshot summary as JSON.
pub fn summary_json(s: &cairn::Summary) -> serde_json::Value {
    serde_json::json!({
        "files": s.files, "dirs": s.dirs, "streams": s.streams,
        "unchanged_files": s.unchanged_files, "bytes_read": s.bytes_read,
        "total_bytes": s.total_bytes, "blobs_added": s.blobs_added,
        "bytes_added": s.bytes_added, "raw_bytes_added": s.raw_bytes_added,
        "errors": s.errors, "duration_ms": s.duration_ms,
    })
}

/// The `summary` line of a command that wrote a snapshot.
pub fn snapshot_summary(res: &cairn::BackupReport) {
    let mut v = snapshot_json(&res.id, &res.snapshot);
    v["message_type"] = "summary".into();
    v["snapshot_id"] = res.id.to_hex().into();
    v["warnings"] = res.warnings.clone().into();
    v["changes"] = serde_json::to_value(res.changes).unwrap_or_default();
    json(&v);
}

/// Snapshot as JSON.
pub fn snapshot_json(id: &cairn::SnapshotId, s: &cairn::Snapshot) -> serde_json::Value {
    serde_json::json!({
        "id": id.to_hex(), "short_id": id.short(), "time": s.time_string(),
        "time_ns": s.time_ns, "host": s.host, "username": s.username,
        "tags": s.tags, "paths": s.paths, "source": s.source,
        "parent": s.parent.map(|p| p.to_hex()), "tree": s.tree.to_hex(),
        "program": s.program, "summary": summary_json(&s.summary), "info": s.info,
    })
}

/// Text with control characters (terminal escapes, carriage returns, C1
/// controls) written as `\x..`/`\u{..}` escapes; newlines and tabs of
/// the text itself stay. Names in a snapshot come from whoever wrote it:
/// printed raw, a name holding an escape sequence could rewrite the
/// operator's terminal. Every line the CLI prints goes through this.
pub fn sanitize(s: &str) -> std::borrow::Cow<'_, str> {
    escape(s, |c| c == '\n' || c == '\t')
}

/// A name from a snapshot for one line of output: every control character
/// escaped, newlines too, so a name cannot fake a line of its own.
pub fn name(s: &str) -> std::borrow::Cow<'_, str> {
    escape(s, |_| false)
}

fn escape(s: &str, keep: impl Fn(char) -> bool) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && !keep(c)) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if keep(c) || !c.is_control() => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Writes one line to stderr, control characters escaped; on a terminal
/// (and without NO_COLOR) errors are red and warnings yellow.
pub fn err_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let text = args.to_string();
    let line = sanitize(&text);
    let line = if colours(&std::io::stderr()) {
        paint(&line)
    } else {
        line
    };
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Colours only on a terminal, and never with NO_COLOR set (to anything
/// but the empty string, as no-color.org says).
pub fn colours(stream: &impl std::io::IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The `error:` or `warning:` of a message line in colour.
fn paint(line: &str) -> std::borrow::Cow<'_, str> {
    for (word, code) in [("error:", "31"), ("warning:", "33")] {
        if let Some(at) = line.find(word).filter(|&i| i <= "cairn: ".len()) {
            let (head, rest) = line.split_at(at);
            let tail = &rest[word.len()..];
            return format!("{head}\x1b[1;{code}m{word}\x1b[0m{tail}").into();
        }
    }
    line.into()
}

/// `eprintln!` with control characters escaped.
#[macro_export]
macro_rules! err {
    ($($t:tt)*) => { $crate::output::err_line(format_args!($($t)*)) };
}

/// Writes one line to stdout, control characters escaped. A closed pipe
/// (`cairn ls | head`) ends the process quietly instead of panicking.
pub fn write_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let text = args.to_string();
    let mut o = std::io::stdout().lock();
    if let Err(e) = writeln!(o, "{}", sanitize(&text)) {
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

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(super::sanitize("plain/ünï"), "plain/ünï");
        assert_eq!(super::sanitize("a\u{1b}[2Jb"), "a\\x1b[2Jb");
        assert_eq!(super::sanitize("x\ry\u{9b}"), "x\\x0dy\\u{9b}");
        assert_eq!(super::sanitize("two\nlines\tok"), "two\nlines\tok");
        assert_eq!(
            super::paint("cairn: error: x"),
            "cairn: \x1b[1;31merror:\x1b[0m x"
        );
        assert_eq!(super::paint("cairn: note error: x"), "cairn: note error: x");
        assert_eq!(super::name("fake\nline"), "fake\\x0aline");
    }
}
