//! Object keys as snapshot paths.
//!
//! Objects of bucket B live under `s3/B/` in the snapshot, one path
//! component per key segment. Segments that are not valid path components
//! are escaped: `%` as `%25`, an empty segment as `%`, `.` as `%2E`, `..` as
//! `%2E%2E`. A key that is also the prefix of other keys (`a` next to
//! `a/b`) gets a trailing `%` on its last component. The exact key is also
//! kept in the node's info, and restore uses that.

use std::collections::HashSet;

fn escape(seg: &str) -> String {
    match seg {
        "" => "%".into(),
        "." => "%2E".into(),
        ".." => "%2E%2E".into(),
        s => s.replace('%', "%25"),
    }
}

fn unescape(seg: &str) -> String {
    match seg {
        "%" => String::new(),
        "%2E" => ".".into(),
        "%2E%2E" => "..".into(),
        s => s.replace("%25", "%"),
    }
}

/// Every key prefix that other keys turn into a directory.
pub fn directory_prefixes<'a>(keys: impl Iterator<Item = &'a str>) -> HashSet<String> {
    let mut out = HashSet::new();
    for k in keys {
        let mut end = 0;
        while let Some(i) = k[end..].find('/') {
            end += i;
            out.insert(k[..end].to_string());
            end += 1;
        }
    }
    out
}

/// The stream name of `key` in bucket `bucket`.
pub fn stream_name(bucket: &str, key: &str, dirs: &HashSet<String>) -> String {
    let mut segs: Vec<String> = key.split('/').map(escape).collect();
    if dirs.contains(key) {
        if let Some(last) = segs.last_mut() {
            last.push('%');
        }
    }
    format!("s3/{bucket}/{}", segs.join("/"))
}

/// The key for a snapshot path below `s3/<bucket>/` (for listings; restore
/// uses the key recorded in the node).
pub fn key_of_path(rel: &str) -> String {
    rel.split('/')
        .map(|s| match s {
            "%" => String::new(),
            // Escaped segments never end in a lone `%`: it is the marker.
            s => unescape(s.strip_suffix('%').unwrap_or(s)),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn awkward_keys_become_valid_unique_paths() {
        let keys = ["a", "a/b", "dir/", "x//y", "./z", "../w", "100%/p"];
        let dirs = directory_prefixes(keys.iter().copied());
        let names: Vec<String> = keys.iter().map(|k| stream_name("bk", k, &dirs)).collect();
        assert_eq!(
            names,
            vec![
                "s3/bk/a%",
                "s3/bk/a/b",
                "s3/bk/dir/%",
                "s3/bk/x/%/y",
                "s3/bk/%2E/z",
                "s3/bk/%2E%2E/w",
                "s3/bk/100%25/p"
            ]
        );
        let unique: HashSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        for (k, n) in keys.iter().zip(&names) {
            assert_eq!(
                key_of_path(n.strip_prefix("s3/bk/").expect("prefix")),
                *k,
                "round trip of {k}"
            );
        }
    }
}
