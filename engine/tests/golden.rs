//! Golden bytes of the repository format (see docs/repository-format.md
//! §15). If one of these changes, the format changed: bump the version,
//! update the spec, and only then the constants.

use cairn::{
    raw::{
        blob::BlobKind,
        crypto::{ChunkingSecret, Kdf},
        envelope::{self, EnvelopeKind},
        gc::{Plan, Session},
        id::RepoId,
        index::{IndexFile, IndexPack},
        pack::{PackBlob, PackHeader},
    },
    Argon2Params, BlobId, ChunkerParams, Config, Content, Hole, IndexId, KeySlot, Meta, Node,
    NodeKind, PackId, SlotKind, Snapshot, SnapshotId, Summary, Tree, Xattr, FLAG_CHANGED,
};
use std::collections::BTreeMap;

fn hex_of<T: serde::Serialize>(v: &T) -> String {
    hex::encode(envelope::encode(v))
}

fn blob(n: u8) -> PackBlob {
    PackBlob {
        id: BlobId([n; 32]),
        offset: 300,
        length: 70_000,
        raw_len: 1 << 20,
    }
}

#[track_caller]
fn golden(name: &str, got: String, want: &str) {
    assert_eq!(got, want, "golden bytes of {name} changed");
}

#[test]
fn envelope_headers() {
    let kinds = [
        (EnvelopeKind::Config, "43524e4301000000"),
        (EnvelopeKind::Key, "43524e4b01000000"),
        (EnvelopeKind::Index, "43524e4901000000"),
        (EnvelopeKind::Snapshot, "43524e5301000000"),
        (EnvelopeKind::Plan, "43524e4701000000"),
        (EnvelopeKind::Session, "43524e4c01000000"),
        (EnvelopeKind::Check, "43524e5201000000"),
    ];
    for (k, want) in kinds {
        golden(
            &format!("{k:?} header"),
            hex::encode(envelope::header(k, 1)),
            want,
        );
    }
    golden(
        "pack trailer magic",
        hex::encode(cairn::raw::pack::PACK_MAGIC),
        "43524e5041434b31",
    );
}

#[test]
fn check_progress_bytes() {
    let p = cairn::CheckProgress {
        time_ns: 1_700_000_000_000_000_000,
        cycle: 2,
        cursor: Some(PackId([7; 32])),
        read_in_cycle: 5,
    };
    golden("CheckProgress", hex_of(&p), CHECK_PROGRESS);
    let start = cairn::CheckProgress::default();
    golden("CheckProgress at the start", hex_of(&start), "00000000");
}

const CHECK_PROGRESS: &str =
    "8080d0e2c6bfce972f0201070707070707070707070707070707070707070707070707070707070707070705";

#[test]
fn config_bytes() {
    let mut profiles = BTreeMap::new();
    profiles.insert("files".to_string(), ChunkerParams::files());
    profiles.insert("database".to_string(), ChunkerParams::database());
    let c = Config {
        version: 1,
        id: RepoId([1; 32]),
        features: vec![],
        chunking_secret: ChunkingSecret([2; 32]),
        profiles,
        compression_level: 3,
        pack_size: 16 << 20,
        append_only: false,
    };
    golden("Config", hex_of(&c), CONFIG);
}

/// A new repository's profiles: the "documents" profile was added on
/// 2026-12-03 (the MongoDB adapter's document streams).
#[test]
fn default_profiles_of_a_new_repository() {
    let p = cairn::default_profiles();
    let sizes: Vec<(&str, u32, u32, u32)> = p
        .iter()
        .map(|(k, c)| (k.as_str(), c.min_size, c.avg_size, c.max_size))
        .collect();
    assert_eq!(
        sizes,
        [
            ("database", 4096, 16384, 65536),
            ("documents", 512, 2048, 8192),
            ("files", 524288, 1048576, 8388608),
        ]
    );
    let c = Config {
        version: 1,
        id: RepoId([1; 32]),
        features: vec![],
        chunking_secret: ChunkingSecret([2; 32]),
        profiles: p,
        compression_level: 3,
        pack_size: 16 << 20,
        append_only: false,
    };
    golden(
        "Config with the documents profile",
        hex_of(&c),
        CONFIG_DOCUMENTS,
    );
}

/// A config written before the "documents" profile existed still decodes;
/// asking it for that profile is a clear error (its users fall back to
/// "database").
#[test]
fn a_config_without_the_documents_profile_still_reads() {
    let bytes = hex::decode(CONFIG).expect("hex");
    let c: Config = envelope::decode(&bytes, "config").expect("decode");
    assert_eq!(c.profiles.len(), 2);
    assert!(c.profile("database").is_ok());
    let e = c.profile("documents").expect_err("no documents profile");
    assert!(e.to_string().contains("database, files"), "{e}");
}

#[test]
fn key_slot_bytes() {
    let k = KeySlot {
        kind: SlotKind::Passphrase,
        kdf: Kdf::Argon2id {
            // Pinned: the default may change, the encoding of these may not.
            params: Argon2Params {
                m_cost_kib: 64 * 1024,
                t_cost: 3,
                p_cost: 1,
            },
            salt: [3; 16],
        },
        wrapped: vec![4; 72],
        created_ns: 1_700_000_000_000_000_000,
        host: "db1".into(),
        label: "ops".into(),
        append_only: true,
        version: 3,
    };
    golden("KeySlot", hex_of(&k), KEY_SLOT);
    // The file: header (version 3), the body, and BLAKE3 of both.
    let file = k.to_bytes();
    let body_end = file.len() - 32;
    assert_eq!(&file[..8], b"CRNK\x03\x00\x00\x00");
    assert_eq!(hex::encode(&file[8..body_end]), KEY_SLOT);
    assert_eq!(
        &file[body_end..],
        blake3::hash(&file[..body_end]).as_bytes()
    );
    golden("KeySlot file", hex::encode(&file), KEY_SLOT_FILE);
    // Version 3: the AAD of `wrapped` is the header, a label, and the body
    // with `wrapped` empty, so no clear field can change unnoticed.
    golden("KeySlot AAD", hex::encode(k.aad()), KEY_SLOT_AAD);
}

#[test]
fn index_pack_header_plan_session_bytes() {
    let f = IndexFile {
        supersedes: vec![IndexId([5; 32])],
        packs: vec![IndexPack {
            id: PackId([6; 32]),
            kind: BlobKind::Data,
            size: 16_777_300,
            blobs: vec![blob(7)],
        }],
    };
    golden("IndexFile", hex_of(&f), INDEX);
    let h = PackHeader {
        kind: BlobKind::Tree,
        blobs: vec![blob(8)],
    };
    golden("PackHeader", hex_of(&h), PACK_HEADER);
    let p = Plan {
        marked_ns: 5,
        packs: f.packs.clone(),
    };
    golden("Plan", hex_of(&p), PLAN);
    let s = Session {
        started_ns: 9,
        host: "h".into(),
        pid: 300,
        origin: "b/pid:[1]".into(),
        session: [14; 32],
        seq: 2,
        stale_after_secs: 900,
        ended: false,
    };
    golden("Session", hex_of(&s), SESSION);
}

#[test]
fn snapshot_and_tree_bytes() {
    let snap = Snapshot {
        time_ns: 1_700_000_000_000_000_000,
        host: "db1".into(),
        username: "root".into(),
        tags: vec!["daily".into()],
        paths: vec!["/srv".into()],
        source: "files".into(),
        parent: Some(SnapshotId([9; 32])),
        tree: BlobId([10; 32]),
        summary: Summary {
            files: 2,
            bytes_read: 1000,
            ..Summary::default()
        },
        program: "cairn 0.1.0".into(),
        info: BTreeMap::from([("k".to_string(), "v".to_string())]),
    };
    golden("Snapshot", hex_of(&snap), SNAPSHOT);
}

/// Version-1 tree bytes (written before 2026-12-01) still decode, into
/// nodes whose new fields are empty and whose atime is the mtime.
#[test]
fn version_1_tree_bytes_still_decode() {
    let meta = Meta {
        mode: 0o100644,
        mtime_ns: 7,
        atime_ns: 7,
        ctime_ns: 8,
        inode: 12,
        dev: 13,
        ..Meta::default()
    };
    let want = Tree {
        nodes: vec![
            Node {
                name: b"a".to_vec(),
                kind: NodeKind::File {
                    size: 5,
                    content: Content::Inline(vec![BlobId([11; 32])]),
                    holes: vec![],
                },
                meta: meta.clone(),
            },
            Node {
                name: b"d".to_vec(),
                kind: NodeKind::Dir {
                    subtree: BlobId([12; 32]),
                },
                meta: meta.clone(),
            },
            Node {
                name: b"l".to_vec(),
                kind: NodeKind::Symlink {
                    target: b"a".to_vec(),
                },
                meta: meta.clone(),
            },
            Node {
                name: b"s".to_vec(),
                kind: NodeKind::Stream {
                    size: 9,
                    content: Content::Indirect(vec![BlobId([13; 32])]),
                    info: BTreeMap::new(),
                },
                meta,
            },
        ],
    };
    let bytes = hex::decode(TREE_V1).expect("hex");
    let got = cairn::raw::tree::decode_tree(&bytes, "v1 tree").expect("decodes");
    assert_eq!(got, want);
}

#[test]
fn tree_v2_bytes() {
    let meta = Meta {
        mode: 0o100644,
        uid: 1000,
        gid: 100,
        user: "ops".into(),
        group: "users".into(),
        mtime_ns: 7,
        atime_ns: 6,
        ctime_ns: 8,
        inode: 12,
        dev: 13,
        nlink: 2,
        xattrs: vec![Xattr {
            name: b"user.k".to_vec(),
            value: b"v".to_vec(),
        }],
        flags: FLAG_CHANGED,
    };
    let node = |name: &[u8], kind| Node {
        name: name.to_vec(),
        kind,
        meta: meta.clone(),
    };
    let t = Tree {
        nodes: vec![
            node(
                b"a",
                NodeKind::File {
                    size: 5,
                    content: Content::Inline(vec![BlobId([11; 32])]),
                    holes: vec![Hole {
                        offset: 4096,
                        len: 8192,
                    }],
                },
            ),
            node(
                b"d",
                NodeKind::Dir {
                    subtree: BlobId([12; 32]),
                },
            ),
            node(
                b"l",
                NodeKind::Symlink {
                    target: b"a".to_vec(),
                },
            ),
            node(
                b"s",
                NodeKind::Stream {
                    size: 9,
                    content: Content::Indirect(vec![BlobId([13; 32])]),
                    info: BTreeMap::new(),
                },
            ),
            node(b"p", NodeKind::Fifo),
            node(b"c", NodeKind::CharDevice { rdev: 0x0501 }),
            node(b"b", NodeKind::BlockDevice { rdev: 0x0801 }),
            node(b"u", NodeKind::Socket),
        ],
    };
    let bytes = cairn::raw::tree::encode_tree(&t);
    assert_eq!(
        &bytes[..11],
        b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x02"
    );
    golden("Tree v2", hex::encode(&bytes), TREE_V2);
}

const CONFIG: &str = "0101010101010101010101010101010101010101010101010101010101010101010002020202020202020202020202020202020202020202020202020202020202020208646174616261736580208080018080040566696c657380802080804080808004068080800800";
const CONFIG_DOCUMENTS: &str = "01010101010101010101010101010101010101010101010101010101010101010100020202020202020202020202020202020202020202020202020202020202020203086461746162617365802080800180800409646f63756d656e74738004801080400566696c657380802080804080808004068080800800";
const KEY_SLOT_FILE: &str = "43524e4b030000000000808004030103030303030303030303030303030303480404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404048080d0e2c6bfce972f03646231036f70730120b970211dd5248b1fb8c6c79dab55477114a6633d185b30c0c94a17aacf88c2";
const KEY_SLOT: &str = "0000808004030103030303030303030303030303030303480404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404048080d0e2c6bfce972f03646231036f707301";
const INDEX: &str = "01050505050505050505050505050505050505050505050505050505050505050501060606060606060606060606060606060606060606060606060606060606060600d4808008010707070707070707070707070707070707070707070707070707070707070707ac02f0a204808040";
const PACK_HEADER: &str =
    "01010808080808080808080808080808080808080808080808080808080808080808ac02f0a204808040";
const PLAN: &str = "0a01060606060606060606060606060606060606060606060606060606060606060600d4808008010707070707070707070707070707070707070707070707070707070707070707ac02f0a204808040";
const SESSION: &str = "120168ac0209622f7069643a5b315d0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e02840700";
const KEY_SLOT_AAD: &str = "43524e4b03000000636169726e2d6b65792d736c6f742d76330000808004030103030303030303030303030303030303008080d0e2c6bfce972f03646231036f707301";
const SNAPSHOT: &str = "8080d0e2c6bfce972f0364623104726f6f7401056461696c7901042f7372760566696c65730109090909090909090909090909090909090909090909090909090909090909090a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a02000000e8070000000000000b636169726e20302e312e3001016b0176";
const TREE_V1: &str = "040161000500010b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0ba483020e1000000c0d0164010c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0ca483020e1000000c0d016c020161a483020e1000000c0d0173030901010d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d00a483020e1000000c0d";
const TREE_V2: &str = "ffffffffffffffffff0102080161000500010b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0180208040a48302e80764036f70730575736572730e0c100c0d020106757365722e6b0176010164010c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0ca48302e80764036f70730575736572730e0c100c0d020106757365722e6b017601016c020161a48302e80764036f70730575736572730e0c100c0d020106757365722e6b0176010173030901010d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d00a48302e80764036f70730575736572730e0c100c0d020106757365722e6b017601017004a48302e80764036f70730575736572730e0c100c0d020106757365722e6b017601016305810aa48302e80764036f70730575736572730e0c100c0d020106757365722e6b0176010162068110a48302e80764036f70730575736572730e0c100c0d020106757365722e6b017601017507a48302e80764036f70730575736572730e0c100c0d020106757365722e6b017601";
