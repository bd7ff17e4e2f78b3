//! Which databases and collections a backup or a restore takes, the way
//! mongodump's `--db`, `--collection`, `--excludeCollection` and
//! `--excludeCollectionsWithPrefix` pick them.

/// Databases a full backup leaves out: `local` and `config` hold the
/// server's own state, `admin` its users and roles (named explicitly to be
/// read).
pub const SERVER_DATABASES: [&str; 3] = ["admin", "config", "local"];

/// A selection of namespaces; empty lists select everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only these databases.
    pub databases: Vec<String>,
    /// Leave these databases out.
    pub exclude_databases: Vec<String>,
    /// Only these collections: `name` (in any selected database) or
    /// `db.name`.
    pub collections: Vec<String>,
    /// Leave these collections out (`name` or `db.name`).
    pub exclude_collections: Vec<String>,
    /// Leave out collections whose name starts with one of these.
    pub exclude_prefixes: Vec<String>,
}

fn names(list: &[String], db: &str, coll: &str) -> bool {
    list.iter().any(|n| match n.split_once('.') {
        Some((d, c)) if d == db => c == coll,
        _ => n == coll,
    })
}

impl Selection {
    /// Whether database `db` of a server is read at all.
    pub fn wants_db(&self, db: &str) -> bool {
        self.db_taken(db, &SERVER_DATABASES)
    }

    fn db_taken(&self, db: &str, unless_named: &[&str]) -> bool {
        if self.exclude_databases.iter().any(|d| d == db) {
            return false;
        }
        match self.databases.is_empty() {
            true => !unless_named.contains(&db),
            false => self.databases.iter().any(|d| d == db),
        }
    }

    fn coll_taken(&self, db: &str, coll: &str) -> bool {
        if names(&self.exclude_collections, db, coll)
            || self.exclude_prefixes.iter().any(|p| coll.starts_with(p))
        {
            return false;
        }
        self.collections.is_empty() || names(&self.collections, db, coll)
    }

    /// Whether collection `db.coll` of a server is backed up (`system.*`
    /// never is: the server keeps its own state there, and views are
    /// stored as their collection's metadata).
    pub fn wants(&self, db: &str, coll: &str) -> bool {
        self.wants_db(db) && !coll.starts_with("system.") && self.coll_taken(db, coll)
    }

    /// Whether a stored collection is taken by a restore or a dump: as
    /// [`Selection::wants`], but with no database named every stored one
    /// is taken.
    pub fn takes(&self, db: &str, coll: &str) -> bool {
        self.db_taken(db, &[]) && self.coll_taken(db, coll)
    }

    /// One line: what is selected.
    pub fn describe(&self) -> String {
        let dbs = match self.databases.is_empty() {
            true => "every database but admin, config and local".to_string(),
            false => format!("databases {}", self.databases.join(",")),
        };
        match self.collections.is_empty() {
            true => dbs,
            false => format!("{dbs}, collections {}", self.collections.join(",")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_full_backup_skips_the_server_databases_and_system_collections() {
        let s = Selection::default();
        assert!(s.wants("app", "users"));
        assert!(!s.wants("admin", "users"));
        assert!(!s.wants("local", "oplog.rs"));
        assert!(!s.wants("app", "system.views"));
        let admin = Selection {
            databases: v(&["admin"]),
            ..Default::default()
        };
        assert!(admin.wants("admin", "settings"));
    }

    #[test]
    fn collections_are_named_alone_or_with_their_database() {
        let s = Selection {
            collections: v(&["users", "crm.leads"]),
            exclude_collections: v(&["app.users"]),
            ..Default::default()
        };
        assert!(s.wants("crm", "users"));
        assert!(!s.wants("app", "users"));
        assert!(s.wants("crm", "leads"));
        assert!(!s.wants("app", "leads"));
        let p = Selection {
            exclude_prefixes: v(&["tmp_"]),
            exclude_databases: v(&["scratch"]),
            ..Default::default()
        };
        assert!(!p.wants("app", "tmp_1"));
        assert!(p.wants("app", "tmp"));
        assert!(!p.wants_db("scratch"));
        assert!(Selection::default().takes("admin", "settings"));
        assert!(!p.takes("scratch", "x"));
    }
}
