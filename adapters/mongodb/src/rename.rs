//! Restoring under other names, the way mongorestore's `--nsFrom` and
//! `--nsTo` do: `app.*` to `scratch_app.*`, each `*` of the source pattern
//! carried to the same place in the target.

use cairn::{Error, Result};

/// One renaming rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rename {
    from: Vec<String>,
    to: Vec<String>,
}

impl Rename {
    /// A rule from `db.coll` patterns with `*` wildcards; both must hold as
    /// many `*` and name a database and a collection.
    pub fn new(from: &str, to: &str) -> Result<Rename> {
        let bad = |m: &str| Error::invalid(format!("--ns-from {from:?} --ns-to {to:?}: {m}"));
        let (f, t): (Vec<String>, Vec<String>) = (
            from.split('*').map(str::to_string).collect(),
            to.split('*').map(str::to_string).collect(),
        );
        if f.len() != t.len() {
            return Err(bad("both need the same number of `*`"));
        }
        if !from.contains('.') || !to.contains('.') {
            return Err(bad("a namespace is database.collection (`app.*`)"));
        }
        Ok(Rename { from: f, to: t })
    }

    /// The new name of `ns`, if this rule takes it.
    pub fn apply(&self, ns: &str) -> Option<String> {
        let caught = capture(&self.from, ns)?;
        let mut out = self.to[0].clone();
        for (c, lit) in caught.iter().zip(&self.to[1..]) {
            out.push_str(c);
            out.push_str(lit);
        }
        Some(out)
    }
}

/// What each `*` between `parts` matched in `s` (shortest first).
fn capture(parts: &[String], s: &str) -> Option<Vec<String>> {
    let rest = s.strip_prefix(parts[0].as_str())?;
    if parts.len() == 1 {
        return rest.is_empty().then(Vec::new);
    }
    let next = &parts[1..];
    for (i, _) in rest.char_indices().chain([(rest.len(), ' ')]) {
        if let Some(mut more) = capture(next, &rest[i..]) {
            more.insert(0, rest[..i].to_string());
            return Some(more);
        }
    }
    None
}

/// The name `ns` is restored under: the first rule that takes it, or its
/// own; split into database and collection.
pub fn target(rules: &[Rename], db: &str, coll: &str) -> Result<(String, String)> {
    let ns = format!("{db}.{coll}");
    let Some(new) = rules.iter().find_map(|r| r.apply(&ns)) else {
        return Ok((db.to_string(), coll.to_string()));
    };
    match new.split_once('.') {
        Some((d, c)) if !d.is_empty() && !c.is_empty() => Ok((d.to_string(), c.to_string())),
        _ => Err(Error::invalid(format!(
            "{ns} would be restored as {new:?}, which is not database.collection"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_carry_over_in_order() {
        let r = Rename::new("app.*", "drill_app.*").expect("rule");
        assert_eq!(r.apply("app.users").as_deref(), Some("drill_app.users"));
        assert_eq!(r.apply("app.a.b").as_deref(), Some("drill_app.a.b"));
        assert_eq!(r.apply("crm.users"), None);
        let two = Rename::new("*.log_*", "*_old.*").expect("rule");
        assert_eq!(two.apply("app.log_2024").as_deref(), Some("app_old.2024"));
        let exact = Rename::new("app.users", "app.people").expect("rule");
        assert_eq!(exact.apply("app.users").as_deref(), Some("app.people"));
        assert_eq!(exact.apply("app.users2"), None);
        assert!(Rename::new("app.*", "app.x").is_err());
        assert!(Rename::new("app", "other").is_err());
        assert_eq!(
            target(&[r], "app", "users").expect("target"),
            ("drill_app".to_string(), "users".to_string())
        );
        let bad = Rename::new("app.*", "*.x").expect("rule");
        assert!(target(&[bad], "app", "").is_err());
    }
}
