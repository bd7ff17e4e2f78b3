use super::*;
use crate::envelope;
use proptest::prelude::*;

fn arb_meta() -> impl Strategy<Value = Meta> {
    (
        any::<u32>(),
        any::<i64>(),
        any::<u64>(),
        ".{0,8}",
        prop::collection::vec((any::<Vec<u8>>(), any::<Vec<u8>>()), 0..3),
        any::<u32>(),
    )
        .prop_map(|(mode, mtime_ns, inode, user, xattrs, flags)| Meta {
            mode,
            mtime_ns,
            atime_ns: mtime_ns / 2,
            inode,
            nlink: inode % 5,
            user,
            xattrs: xattrs
                .into_iter()
                .map(|(name, value)| Xattr { name, value })
                .collect(),
            flags,
            ..Meta::default()
        })
}

fn arb_node() -> impl Strategy<Value = Node> {
    let kind = prop_oneof![
        (
            any::<u64>(),
            prop::collection::vec(any::<[u8; 32]>(), 0..5),
            prop::collection::vec((any::<u64>(), any::<u64>()), 0..3)
        )
            .prop_map(|(size, ids, holes)| NodeKind::File {
                size,
                content: Content::Inline(ids.into_iter().map(BlobId).collect()),
                holes: holes
                    .into_iter()
                    .map(|(offset, len)| Hole { offset, len })
                    .collect(),
            }),
        any::<[u8; 32]>().prop_map(|id| NodeKind::Dir {
            subtree: BlobId(id)
        }),
        any::<Vec<u8>>().prop_map(|target| NodeKind::Symlink { target }),
        (
            any::<u64>(),
            prop::collection::vec(any::<[u8; 32]>(), 0..3),
            any::<BTreeMap<String, String>>()
        )
            .prop_map(|(size, ids, info)| NodeKind::Stream {
                size,
                content: Content::Indirect(ids.into_iter().map(BlobId).collect()),
                info
            }),
        Just(NodeKind::Fifo),
        any::<u64>().prop_map(|rdev| NodeKind::CharDevice { rdev }),
        any::<u64>().prop_map(|rdev| NodeKind::BlockDevice { rdev }),
        Just(NodeKind::Socket),
    ];
    (any::<Vec<u8>>(), kind, arb_meta()).prop_map(|(name, kind, meta)| Node { name, kind, meta })
}

proptest! {
    #[test]
    fn round_trip(nodes in prop::collection::vec(arb_node(), 0..10)) {
        let t = Tree { nodes };
        let bytes = encode_tree(&t);
        prop_assert!(bytes.starts_with(&TREE_V2_PREFIX));
        let back = decode_tree(&bytes, "t").expect("decodes");
        prop_assert_eq!(back, t);
    }
}

/// A version-1 reader (postcard of the old layout) fails on a version-2
/// tree instead of misreading it.
#[test]
fn version_1_readers_refuse_version_2_trees() {
    let t = Tree {
        nodes: vec![Node {
            name: b"a".to_vec(),
            kind: NodeKind::Fifo,
            meta: Meta::default(),
        }],
    };
    let bytes = encode_tree(&t);
    assert!(envelope::decode::<v1::Tree>(&bytes, "old reader").is_err());
}

#[test]
fn an_unknown_tree_version_is_unsupported() {
    let mut bytes = TREE_V2_PREFIX.to_vec();
    bytes.push(3);
    assert!(matches!(
        decode_tree(&bytes, "t"),
        Err(crate::Error::UnsupportedVersion { found: 3, .. })
    ));
}

#[test]
fn names_are_checked() {
    let node = |n: &[u8]| Node {
        name: n.to_vec(),
        kind: NodeKind::Fifo,
        meta: Meta::default(),
    };
    assert!(Tree {
        nodes: vec![node(b"a"), node(b"b")]
    }
    .check_names()
    .is_ok());
    for bad in [
        vec![node(b"b"), node(b"a")],
        vec![node(b"a"), node(b"a")],
        vec![node(b"..")],
        vec![node(b"x/y")],
        vec![node(b"")],
        vec![node(b"n\0ul")],
    ] {
        assert!(Tree { nodes: bad }.check_names().is_err());
    }
}
