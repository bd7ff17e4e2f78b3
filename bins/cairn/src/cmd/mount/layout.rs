//! The mount's inodes: the fixed top levels (`ids/`, `snapshots/`,
//! `hosts/`, `tags/`) built from the snapshot list, and snapshot entries
//! added as they are looked up.
//!
//! ```text
//! ids/<short id>/...              a snapshot's tree
//! snapshots/<time>  -> ../ids/<short id>     and snapshots/latest
//! hosts/<host>/<time> -> ../../ids/<short id> and hosts/<host>/latest
//! tags/<tag>/<time> -> ../../ids/<short id>   and tags/<tag>/latest
//! ```

use cairn::{Meta, Node, NodeKind, Snapshot, SnapshotId};
use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};

/// Inode of the mount's root.
pub const ROOT: u64 = 1;

/// One inode.
#[derive(Clone, Debug)]
pub enum Entry {
    /// A directory of the fixed levels, its children by name.
    Dir(BTreeMap<OsString, u64>),
    /// A symlink of the fixed levels.
    Link(Vec<u8>),
    /// A snapshot's root or one of its entries.
    Snap(Box<Node>),
}

/// Every inode handed out so far.
#[derive(Default)]
pub struct Inodes {
    entries: Vec<Entry>,
    /// Children of snapshot directories that were looked up, by
    /// (directory inode, name).
    children: HashMap<(u64, Vec<u8>), u64>,
    /// Modification time of the fixed levels (the newest snapshot's).
    pub top_time_ns: i64,
}

impl Inodes {
    /// The fixed levels for `snaps` (oldest first).
    pub fn new(snaps: &[(SnapshotId, Snapshot)]) -> Self {
        let mut t = Inodes {
            top_time_ns: snaps.last().map_or(0, |(_, s)| s.time_ns),
            ..Default::default()
        };
        let root = t.dir(BTreeMap::new());
        debug_assert_eq!(root, ROOT);
        let ids = t.add_dir(ROOT, "ids");
        let by_time = t.add_dir(ROOT, "snapshots");
        let hosts = t.add_dir(ROOT, "hosts");
        let tags = t.add_dir(ROOT, "tags");
        let mut short: HashMap<String, usize> = HashMap::new();
        for (id, _) in snaps {
            *short.entry(id.short()).or_default() += 1;
        }
        // Per time directory: the newest snapshot's link name.
        let mut newest: BTreeMap<u64, (i64, String)> = BTreeMap::new();
        for (id, s) in snaps {
            let name = match short[&id.short()] {
                1 => id.short(),
                _ => id.to_hex(),
            };
            let ino = t.push(Entry::Snap(Box::new(snapshot_root(s))));
            t.link_child(ids, OsStr::new(&name), ino);
            let time = s.time_string();
            let mut dirs = vec![(by_time, format!("../ids/{name}"))];
            dirs.push((
                t.add_dir(hosts, &safe(&s.host)),
                format!("../../ids/{name}"),
            ));
            for tag in s.tags.iter().filter(|t| !t.is_empty()) {
                dirs.push((t.add_dir(tags, &safe(tag)), format!("../../ids/{name}")));
            }
            for (dir, target) in dirs {
                let link = t.add_link(dir, &time, target);
                if newest.get(&dir).is_none_or(|(at, _)| *at <= s.time_ns) {
                    newest.insert(dir, (s.time_ns, link));
                }
            }
        }
        for (dir, (_, link)) in newest {
            let ino = t.push(Entry::Link(link.into_bytes()));
            t.link_child(dir, OsStr::new("latest"), ino);
        }
        t
    }

    /// The entry of inode `ino`.
    pub fn get(&self, ino: u64) -> Option<&Entry> {
        self.entries.get(ino.checked_sub(1)? as usize)
    }

    /// The inode of snapshot entry `node` named `name` in directory
    /// `parent`, handed out on first use and stable after.
    pub fn child(&mut self, parent: u64, node: &Node) -> u64 {
        let key = (parent, node.name.clone());
        if let Some(&ino) = self.children.get(&key) {
            return ino;
        }
        let ino = self.push(Entry::Snap(Box::new(node.clone())));
        self.children.insert(key, ino);
        ino
    }

    fn push(&mut self, e: Entry) -> u64 {
        self.entries.push(e);
        self.entries.len() as u64
    }

    fn dir(&mut self, c: BTreeMap<OsString, u64>) -> u64 {
        self.push(Entry::Dir(c))
    }

    fn link_child(&mut self, parent: u64, name: &OsStr, ino: u64) {
        if let Some(Entry::Dir(c)) = self.entries.get_mut(idx(parent)) {
            c.insert(name.to_os_string(), ino);
        }
    }

    fn add_dir(&mut self, parent: u64, name: &str) -> u64 {
        if let Some(Entry::Dir(c)) = self.get(parent) {
            if let Some(&ino) = c.get(OsStr::new(name)) {
                return ino;
            }
        }
        let ino = self.dir(BTreeMap::new());
        self.link_child(parent, OsStr::new(name), ino);
        ino
    }

    /// A symlink `name` -> `target`; a second snapshot with the same time
    /// gets `name-1`, `name-2`, ... Returns the name used.
    fn add_link(&mut self, parent: u64, name: &str, target: String) -> String {
        let taken = |t: &Inodes, n: &str| match t.get(parent) {
            Some(Entry::Dir(c)) => c.contains_key(OsStr::new(n)),
            _ => false,
        };
        let mut unique = name.to_string();
        let mut n = 0;
        while taken(self, &unique) {
            n += 1;
            unique = format!("{name}-{n}");
        }
        let ino = self.push(Entry::Link(target.into_bytes()));
        self.link_child(parent, OsStr::new(&unique), ino);
        unique
    }
}

fn idx(ino: u64) -> usize {
    (ino - 1) as usize
}

/// A host or tag as one path component.
fn safe(s: &str) -> String {
    match s.replace('/', "_") {
        n if n.is_empty() || n == "." || n == ".." => format!("_{n}"),
        n => n,
    }
}

/// A directory node for a snapshot's root, dated by the snapshot.
fn snapshot_root(s: &Snapshot) -> Node {
    Node {
        name: Vec::new(),
        kind: NodeKind::Dir { subtree: s.tree },
        meta: Meta {
            mode: libc::S_IFDIR | 0o755,
            mtime_ns: s.time_ns,
            atime_ns: s.time_ns,
            ctime_ns: s.time_ns,
            ..Default::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(host: &str, tags: &[&str], time_ns: i64) -> Snapshot {
        Snapshot {
            time_ns,
            host: host.into(),
            username: String::new(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            paths: vec![],
            source: "files".into(),
            parent: None,
            tree: cairn::BlobId::default(),
            summary: Default::default(),
            program: "test".into(),
            info: Default::default(),
        }
    }

    fn id(byte: &str) -> SnapshotId {
        SnapshotId::from_hex(&byte.repeat(32)).expect("id")
    }

    fn names(t: &Inodes, ino: u64) -> Vec<String> {
        match t.get(ino) {
            Some(Entry::Dir(c)) => c.keys().map(|k| k.to_string_lossy().into_owned()).collect(),
            _ => panic!("not a directory"),
        }
    }

    #[test]
    fn fixed_levels_name_every_snapshot_by_id_host_tag_and_time() {
        let snaps = vec![
            (id("01"), snap("db/1", &["prod"], 1_000_000_000)),
            (id("02"), snap("db/1", &["prod", "x"], 1_000_000_000)),
        ];
        let t = Inodes::new(&snaps);
        assert_eq!(names(&t, ROOT), ["hosts", "ids", "snapshots", "tags"]);
        let Some(Entry::Dir(top)) = t.get(ROOT) else {
            panic!("root")
        };
        let by_time = top[OsStr::new("snapshots")];
        assert_eq!(
            names(&t, by_time),
            ["1970-01-01T00:00:01Z", "1970-01-01T00:00:01Z-1", "latest"]
        );
        let Some(Entry::Dir(hosts)) = t.get(top[OsStr::new("hosts")]) else {
            panic!("hosts")
        };
        assert_eq!(hosts.keys().collect::<Vec<_>>(), [OsStr::new("db_1")]);
        let Some(Entry::Dir(tags)) = t.get(top[OsStr::new("tags")]) else {
            panic!("tags")
        };
        let x = tags[OsStr::new("x")];
        let Some(Entry::Dir(xs)) = t.get(x) else {
            panic!("x")
        };
        let Some(Entry::Link(target)) = t.get(xs[OsStr::new("latest")]) else {
            panic!("latest")
        };
        assert_eq!(target, b"1970-01-01T00:00:01Z");
        let Some(Entry::Link(target)) = t.get(match t.get(by_time) {
            Some(Entry::Dir(c)) => c[OsStr::new("latest")],
            _ => panic!("by time"),
        }) else {
            panic!("latest")
        };
        // Two snapshots at one time: the later one in the list is newest.
        assert_eq!(target, b"1970-01-01T00:00:01Z-1");
    }
}
