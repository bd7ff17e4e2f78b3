//! WAL file names: segments, partial segments, backup history files and
//! timeline history files, as PostgreSQL names them in `pg_wal/`.

use cairn::{Error, Result};

/// The default WAL segment size (`initdb --wal-segsize` changes it).
pub const DEFAULT_SEGMENT_SIZE: u64 = 16 * 1024 * 1024;

/// What a file in the archive is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WalKind {
    /// A full segment (`000000010000000000000003`).
    Segment,
    /// The unfinished last segment of a timeline a promotion left behind.
    Partial,
    /// A base backup's history file (`…03.00000028.backup`).
    Backup,
    /// A timeline's history file (`00000002.history`).
    History,
}

/// A parsed WAL file name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WalName {
    /// The timeline.
    pub timeline: u32,
    /// The segment's `log` and `seg` parts (zero for history files).
    pub log: u32,
    /// See `log`.
    pub seg: u32,
    /// The kind.
    pub kind: WalKind,
    /// The name as PostgreSQL wrote it.
    pub name: String,
}

fn hex(s: &str) -> Option<u32> {
    let ok = s.len() == 8 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F'));
    ok.then(|| u32::from_str_radix(s, 16).ok()).flatten()
}

impl WalName {
    /// Parses a name; anything else (a path, lower case, another suffix) is
    /// refused, so that a name never leaves the archive's namespace.
    pub fn parse(name: &str) -> Result<WalName> {
        let bad = || {
            Error::invalid(format!(
                "{name:?} is not a WAL file name (24 upper-case hex digits, optionally .partial or \
                 .XXXXXXXX.backup, or XXXXXXXX.history)"
            ))
        };
        if let Some(tli) = name.strip_suffix(".history") {
            let timeline = hex(tli).ok_or_else(bad)?;
            return Ok(WalName {
                timeline,
                log: 0,
                seg: 0,
                kind: WalKind::History,
                name: name.to_string(),
            });
        }
        let (base, kind) = match name.get(24..) {
            Some("") => (name, WalKind::Segment),
            Some(".partial") => (&name[..24], WalKind::Partial),
            Some(rest) if rest.len() == 16 && rest.ends_with(".backup") => {
                hex(&rest[1..9]).ok_or_else(bad)?;
                (&name[..24], WalKind::Backup)
            }
            _ => return Err(bad()),
        };
        let part = |i: usize| base.get(i..i + 8).and_then(hex).ok_or_else(bad);
        Ok(WalName {
            timeline: part(0)?,
            log: part(8)?,
            seg: part(16)?,
            kind,
            name: name.to_string(),
        })
    }

    /// The segment's position in the WAL, counted in segments.
    pub fn number(&self, segment_size: u64) -> u64 {
        u64::from(self.log) * segments_per_log(segment_size) + u64::from(self.seg)
    }
}

/// Segments per 4 GiB `log` id.
fn segments_per_log(segment_size: u64) -> u64 {
    (0x1_0000_0000 / segment_size.max(1)).max(1)
}

/// The name of segment `number` on `timeline`.
pub fn segment_name(timeline: u32, number: u64, segment_size: u64) -> String {
    let per = segments_per_log(segment_size);
    format!("{timeline:08X}{:08X}{:08X}", number / per, number % per)
}

/// Parses an LSN (`16/B374D848`).
pub fn parse_lsn(s: &str) -> Result<u64> {
    let (hi, lo) = s
        .trim()
        .split_once('/')
        .ok_or_else(|| Error::invalid(format!("bad LSN {s:?}: like 16/B374D848")))?;
    let part =
        |p: &str| u64::from_str_radix(p, 16).map_err(|_| Error::invalid(format!("bad LSN {s:?}")));
    Ok((part(hi)? << 32) | part(lo)?)
}

/// Formats an LSN as PostgreSQL does.
pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// The segment number holding `lsn`.
pub fn lsn_segment(lsn: u64, segment_size: u64) -> u64 {
    lsn / segment_size.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_hostile_names_are_refused() {
        let n = WalName::parse("0000000200000001000000FE").expect("step failed");
        assert_eq!(
            (n.timeline, n.log, n.seg, n.kind),
            (2, 1, 0xFE, WalKind::Segment)
        );
        assert_eq!(n.number(DEFAULT_SEGMENT_SIZE), 256 + 0xFE);
        assert_eq!(segment_name(2, 256 + 0xFE, DEFAULT_SEGMENT_SIZE), n.name);
        assert_eq!(
            segment_name(1, 256, DEFAULT_SEGMENT_SIZE),
            "000000010000000100000000"
        );
        let b = WalName::parse("000000010000000000000002.00000028.backup").expect("step failed");
        assert_eq!((b.seg, b.kind), (2, WalKind::Backup));
        assert_eq!(
            WalName::parse("00000003.history")
                .expect("step failed")
                .timeline,
            3
        );
        assert_eq!(
            WalName::parse("000000010000000000000002.partial")
                .expect("step failed")
                .kind,
            WalKind::Partial
        );
        for bad in [
            "../00000001000000000000000",
            "0000000100000000000000020",
            "00000001000000000000000g",
            "000000010000000000000002.backup",
            "000000010000000000000002/x",
            "0000000a0000000000000002",
            "",
        ] {
            assert!(WalName::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn lsns_parse_and_map_to_segments() {
        let l = parse_lsn("16/B374D848").expect("step failed");
        assert_eq!(format_lsn(l), "16/B374D848");
        assert_eq!(
            lsn_segment(
                parse_lsn("0/2000028").expect("step failed"),
                DEFAULT_SEGMENT_SIZE
            ),
            2
        );
        assert!(parse_lsn("16B374D848").is_err());
    }
}
