//! The files of a `kc.sh export --dir` directory, by name:
//! `REALM-realm.json` and `REALM-users-N.json`.

/// What one export file is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExportFile {
    /// A realm's own file (with its users under `--users realm_file`).
    Realm(String),
    /// The N-th users file of a realm.
    Users(String, u32),
}

impl ExportFile {
    /// Parses a file name; `None` for anything else.
    pub fn parse(name: &str) -> Option<ExportFile> {
        if name.contains('/') {
            return None;
        }
        if let Some(realm) = name.strip_suffix("-realm.json") {
            return (!realm.is_empty()).then(|| ExportFile::Realm(realm.to_string()));
        }
        let stem = name.strip_suffix(".json")?;
        let (realm, n) = stem.rsplit_once("-users-")?;
        if realm.is_empty() || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(ExportFile::Users(realm.to_string(), n.parse().ok()?))
    }

    /// The realm the file belongs to.
    pub fn realm(&self) -> &str {
        match self {
            ExportFile::Realm(r) | ExportFile::Users(r, _) => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_dashes_parse_from_the_end() {
        assert_eq!(
            ExportFile::parse("stoa-realm.json"),
            Some(ExportFile::Realm("stoa".into()))
        );
        assert_eq!(
            ExportFile::parse("my-users-realm-users-12.json"),
            Some(ExportFile::Users("my-users-realm".into(), 12))
        );
        assert_eq!(ExportFile::parse("-realm.json"), None);
        assert_eq!(ExportFile::parse("x-users-.json"), None);
        assert_eq!(ExportFile::parse("x-users-1a.json"), None);
        assert_eq!(ExportFile::parse("notes.txt"), None);
        assert_eq!(ExportFile::parse("../x-realm.json"), None);
    }
}
