//! How much a day's change of 1% of a collection's documents adds to the
//! repository, per chunking profile: the measurement behind the MongoDB
//! adapter's profile (issue #21).
//!
//! A collection of BSON documents (ObjectId `_id`, names, e-mails,
//! numbers, tags, a free-text field; 200-600 bytes each, in `_id` order as
//! the adapter stores them) is backed up as one stream; then 1% of its
//! documents, spread at random, get a changed field (some grow or shrink),
//! a few new documents are appended, and it is backed up again. Printed per
//! profile: the changed bytes, the new plaintext bytes the second backup
//! stored and what it stored after compression with its trees, each
//! against the changed bytes, and the chunk count of the first backup.
//!
//! Usage: cargo run -p cairn-benches --bin doc-dedup [DOCS] [SEED] [--write DIR]
//! (default 200000 documents, seed 1). With `--write DIR` it writes the two
//! versions (`DIR/v1.bson`, `DIR/v2.bson`) and the changed byte count
//! (`DIR/changed-bytes`) for `benches/doc-dedup.sh` to give the peers, and
//! backs nothing up. The figures are byte counts, the same in any build.

use bson::{doc, oid::ObjectId, Document};
use cairn::{
    Argon2Params, BackupOptions, ChunkerParams, InitOptions, ObjectBackend, Repository, Secret,
    StreamSource,
};
use std::collections::BTreeMap;
use std::sync::Arc;

const WORDS: &[&str] = &[
    "call", "queue", "agent", "chat", "voice", "email", "ticket", "customer", "routing", "skill",
    "transfer", "wrap-up", "survey", "hold", "campaign", "callback", "priority", "sla", "note",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic, no dependency.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn text(&mut self, words: u64) -> String {
        (0..words)
            .map(|_| WORDS[self.below(WORDS.len() as u64) as usize])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn document(rng: &mut Rng, i: u64) -> Document {
    let mut id = [0u8; 12];
    id[..4].copy_from_slice(&(1_700_000_000u32 + (i / 50) as u32).to_be_bytes());
    id[4..].copy_from_slice(&i.to_be_bytes());
    let words = 10 + rng.below(60);
    doc! {
        "_id": ObjectId::from_bytes(id),
        "customer": format!("customer-{}", rng.below(50_000)),
        "email": format!("user{}@example.com", rng.below(1_000_000)),
        "channel": WORDS[rng.below(6) as usize],
        "score": rng.below(1000) as i64,
        "open": rng.below(2) == 0,
        "tags": [rng.text(1), rng.text(1)],
        "text": rng.text(words),
    }
}

fn bytes(docs: &[Document]) -> Vec<u8> {
    let mut out = Vec::new();
    for d in docs {
        d.to_writer(&mut out).expect("encode");
    }
    out
}

fn backup(repo: &Repository, profile: &str, data: Vec<u8>) -> cairn::Summary {
    let s = StreamSource::from_reader("mongodb/app/tickets.bson", std::io::Cursor::new(data))
        .with_profile(profile);
    repo.backup(BackupOptions::default().streams(vec![s]))
        .expect("backup")
        .snapshot
        .summary
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let seed: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let docs: Vec<Document> = (0..n).map(|i| document(&mut rng, i)).collect();
    let mut changed = docs.clone();
    let mut changed_bytes = 0u64;
    for _ in 0..n / 100 {
        let i = rng.below(n) as usize;
        let words = 10 + rng.below(60);
        changed[i].insert("text", rng.text(words));
        changed[i].insert("score", rng.below(1000) as i64);
        changed_bytes += bson::to_vec(&changed[i]).expect("encode").len() as u64;
    }
    for i in n..n + n / 1000 {
        let d = document(&mut rng, i);
        changed_bytes += bson::to_vec(&d).expect("encode").len() as u64;
        changed.push(d);
    }
    let (first, second) = (bytes(&docs), bytes(&changed));
    if let Some(i) = args.iter().position(|a| a == "--write") {
        let dir = std::path::PathBuf::from(args.get(i + 1).expect("--write DIR"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("v1.bson"), &first).expect("write v1");
        std::fs::write(dir.join("v2.bson"), &second).expect("write v2");
        std::fs::write(dir.join("changed-bytes"), changed_bytes.to_string()).expect("write");
        return;
    }
    println!(
        "{n} documents, {} bytes; 1% changed and 0.1% appended: {changed_bytes} bytes",
        first.len()
    );
    println!(
        "| profile (min/avg/max) | chunks | new plaintext | / changed | new as stored (data + trees) | / changed |"
    );
    println!("|---|---|---|---|---|---|");
    // Each profile is min = avg / 4, max = avg * 4, as `database` is.
    for avg in [16 * 1024, 8 * 1024, 4 * 1024, 2 * 1024, 1024, 512] {
        let p = ChunkerParams {
            min_size: avg / 4,
            avg_size: avg,
            max_size: avg * 4,
        };
        let mut profiles = BTreeMap::new();
        profiles.insert("files".to_string(), ChunkerParams::files());
        profiles.insert("database".to_string(), ChunkerParams::database());
        profiles.insert("candidate".to_string(), p);
        let opts = InitOptions::default()
            .argon2(Argon2Params::insecure_for_tests())
            .profiles(Some(profiles));
        let repo = Repository::init(
            Arc::new(ObjectBackend::memory().expect("memory")),
            &Secret::passphrase("bench"),
            opts,
        )
        .expect("init");
        let one = backup(&repo, "candidate", first.clone());
        let two = backup(&repo, "candidate", second.clone());
        let ratio = |b: u64| b as f64 / changed_bytes as f64;
        println!(
            "| {}/{}/{} | {} | {} | {:.1}x | {} | {:.1}x |",
            p.min_size,
            p.avg_size,
            p.max_size,
            one.blobs_added,
            two.raw_bytes_added,
            ratio(two.raw_bytes_added),
            two.bytes_added,
            ratio(two.bytes_added)
        );
    }
}
