//! The export set check: every file parses, users files form complete
//! sequences, counts agree, and the figures that prove it.
//!
//! Error messages name files and positions, never contents: the files
//! hold password hashes, client secrets and realm private keys.

use crate::layout::ExportFile;
use cairn::{Error, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Where `kc.sh export --users` puts users.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UsersMode {
    /// Inside each realm file.
    RealmFile,
    /// One `REALM-users-0.json` per realm.
    SameFile,
    /// `REALM-users-N.json`, `users_per_file` each (Keycloak's default).
    #[default]
    DifferentFiles,
    /// No users at all (not a restorable identity backup).
    Skip,
}

impl UsersMode {
    /// Parses `realm_file`, `same_file`, `different_files` or `skip`.
    pub fn parse(s: &str) -> Result<UsersMode> {
        Ok(match s {
            "realm_file" => UsersMode::RealmFile,
            "same_file" => UsersMode::SameFile,
            "different_files" => UsersMode::DifferentFiles,
            "skip" => UsersMode::Skip,
            _ => {
                return Err(Error::invalid(format!(
                    "bad users mode {s:?}: realm_file, same_file, different_files or skip"
                )))
            }
        })
    }

    /// As `kc.sh` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            UsersMode::RealmFile => "realm_file",
            UsersMode::SameFile => "same_file",
            UsersMode::DifferentFiles => "different_files",
            UsersMode::Skip => "skip",
        }
    }
}

/// What one realm holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RealmFigures {
    /// Realm name.
    pub realm: String,
    /// Users, over all its files.
    pub users: u64,
    /// Users files.
    pub users_files: u64,
    /// Clients.
    pub clients: u64,
    /// Realm roles plus client roles.
    pub roles: u64,
    /// Identity providers.
    pub identity_providers: u64,
    /// Top-level groups.
    pub groups: u64,
}

fn bad(file: &str, what: impl std::fmt::Display) -> Error {
    Error::Source {
        name: format!("keycloak export file {file}"),
        detail: what.to_string(),
    }
}

fn parse(file: &str, bytes: &[u8]) -> Result<serde_json::Map<String, Value>> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad(file, "is not a JSON object")),
        Err(e) => Err(bad(
            file,
            format!(
                "does not parse ({} bytes; truncated?): error at line {}, column {}",
                bytes.len(),
                e.line(),
                e.column()
            ),
        )),
    }
}

fn count(m: &serde_json::Map<String, Value>, key: &str) -> u64 {
    m.get(key)
        .and_then(Value::as_array)
        .map_or(0, |a| a.len() as u64)
}

fn roles(m: &serde_json::Map<String, Value>) -> u64 {
    let r = m.get("roles");
    let realm = r
        .and_then(|r| r.get("realm"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let client = r
        .and_then(|r| r.get("client"))
        .and_then(Value::as_object)
        .map_or(0, |c| {
            c.values().filter_map(Value::as_array).map(Vec::len).sum()
        });
    (realm + client) as u64
}

/// Users of one file, checked for duplicates against `seen`.
fn users(
    file: &str,
    m: &serde_json::Map<String, Value>,
    seen: &mut BTreeSet<String>,
) -> Result<u64> {
    let Some(list) = m.get("users") else {
        return Ok(0);
    };
    let list = list
        .as_array()
        .ok_or_else(|| bad(file, "`users` is not an array"))?;
    for u in list {
        let key = u
            .get("id")
            .or_else(|| u.get("username"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad(file, "a user has neither `id` nor `username`"))?;
        if !seen.insert(key.to_string()) {
            return Err(bad(
                file,
                format!("user {key} appears twice in the realm's export"),
            ));
        }
    }
    Ok(list.len() as u64)
}

/// One users file: its index, name and bytes.
type UsersFile<'a> = (u32, &'a str, &'a [u8]);

/// The figures of one realm file (its inline users counted into `seen`).
fn realm_file(
    r: String,
    name: &str,
    bytes: &[u8],
    mode: UsersMode,
    seen: &mut BTreeSet<String>,
) -> Result<RealmFigures> {
    let m = parse(name, bytes)?;
    if m.get("realm").and_then(Value::as_str) != Some(r.as_str()) {
        return Err(bad(name, format!("does not hold realm {r:?}")));
    }
    let inline = users(name, &m, seen)?;
    if inline > 0 && mode != UsersMode::RealmFile {
        return Err(bad(
            name,
            format!(
                "holds users although the export used --users {}",
                mode.as_str()
            ),
        ));
    }
    Ok(RealmFigures {
        realm: r,
        users: inline,
        clients: count(&m, "clients"),
        roles: roles(&m),
        identity_providers: count(&m, "identityProviders"),
        groups: count(&m, "groups"),
        ..Default::default()
    })
}

/// Adds the users files of one realm to its figures.
fn users_files(
    realm: &str,
    list: &mut [UsersFile<'_>],
    fig: &mut RealmFigures,
    mode: UsersMode,
    per_file: u64,
    seen: &mut BTreeSet<String>,
) -> Result<()> {
    list.sort_by_key(|(n, _, _)| *n);
    check_sequence(realm, list, mode)?;
    let mut per = Vec::new();
    for (_, name, bytes) in list.iter() {
        let m = parse(name, bytes)?;
        if m.get("realm").and_then(Value::as_str) != Some(realm) {
            return Err(bad(name, format!("does not name realm {realm:?}")));
        }
        let n = users(name, &m, seen)?;
        if n == 0 {
            return Err(bad(name, "holds no users"));
        }
        fig.users += n;
        fig.users_files += 1;
        per.push((name.to_string(), n));
    }
    if mode == UsersMode::DifferentFiles {
        check_counts(&per, per_file)?;
    }
    Ok(())
}

/// Checks an export set (file name, bytes) made with `mode` and
/// `per_file`, and returns each realm's figures.
pub fn check_set(
    files: &[(String, Vec<u8>)],
    mode: UsersMode,
    per_file: u64,
) -> Result<Vec<RealmFigures>> {
    let mut realms: BTreeMap<String, RealmFigures> = BTreeMap::new();
    let mut by_realm: BTreeMap<String, Vec<UsersFile<'_>>> = BTreeMap::new();
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, bytes) in files {
        match ExportFile::parse(name) {
            None => return Err(bad(name, "is not a realm or users file of a kc.sh export")),
            Some(ExportFile::Users(r, n)) => by_realm.entry(r).or_default().push((n, name, bytes)),
            Some(ExportFile::Realm(r)) => {
                let fig = realm_file(
                    r.clone(),
                    name,
                    bytes,
                    mode,
                    seen.entry(r.clone()).or_default(),
                )?;
                realms.insert(r, fig);
            }
        }
    }
    if realms.is_empty() {
        return Err(Error::Source {
            name: "keycloak export".into(),
            detail: "no realm file (REALM-realm.json) in the export directory".into(),
        });
    }
    for (realm, mut list) in by_realm {
        let fig = realms.get_mut(&realm).ok_or_else(|| {
            bad(
                &format!("{realm}-users-*.json"),
                format!("users files of realm {realm:?} without {realm}-realm.json"),
            )
        })?;
        users_files(
            &realm,
            &mut list,
            fig,
            mode,
            per_file,
            seen.entry(realm.clone()).or_default(),
        )?;
    }
    Ok(realms.into_values().collect())
}

fn check_sequence(realm: &str, list: &[UsersFile<'_>], mode: UsersMode) -> Result<()> {
    match mode {
        UsersMode::RealmFile | UsersMode::Skip => {
            return Err(bad(
                list[0].1,
                format!(
                    "a users file although the export used --users {}",
                    mode.as_str()
                ),
            ))
        }
        UsersMode::SameFile if list.len() > 1 || list[0].0 != 0 => {
            return Err(bad(
                list[0].1,
                "--users same_file writes one REALM-users-0.json",
            ))
        }
        _ => {}
    }
    for (i, (n, name, _)) in list.iter().enumerate() {
        if *n != i as u32 {
            return Err(bad(
                name,
                format!("the users files of realm {realm:?} are not a complete sequence: {realm}-users-{i}.json is missing"),
            ));
        }
    }
    Ok(())
}

/// Every users file but the last holds exactly `per_file` users under
/// `different_files`, and the last at most that: a short file in the
/// middle means lost users.
fn check_counts(per: &[(String, u64)], per_file: u64) -> Result<()> {
    if per_file == 0 {
        return Ok(());
    }
    let last = per.len() - 1;
    for (i, (name, n)) in per.iter().enumerate() {
        let ok = if i < last {
            *n == per_file
        } else {
            *n <= per_file
        };
        if !ok {
            return Err(bad(
                name,
                format!(
                    "holds {n} users, but the export wrote {per_file} per file{}: users are missing or the layout is not the one configured",
                    if i < last { " and it is not the last file" } else { " at most" }
                ),
            ));
        }
    }
    Ok(())
}
