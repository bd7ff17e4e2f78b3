//! Replays the fuzz corpora and every input that once crashed a target
//! (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`) through the
//! same entry points the fuzzers use. A panic here is a regression.

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let regressions = root.join("regressions").join(target);
    assert!(
        regressions.is_dir(),
        "{} is missing: every fuzz target keeps a regressions directory",
        regressions.display()
    );
    let mut out = Vec::new();
    for dir in [root.join("corpus").join(target), regressions] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            out.extend(
                entries
                    .map(|e| e.expect("entry").path())
                    .filter(|p| p.is_file()),
            );
        }
    }
    out.sort();
    out
}

#[test]
fn corpora_and_regressions_replay_without_panics() {
    for (name, target) in cairn::fuzz::TARGETS {
        let files = inputs(name);
        for f in &files {
            let data = std::fs::read(f).expect("read input");
            target(&data);
        }
        // Edge inputs every decoder must survive.
        for data in [&[][..], &[0u8; 64][..], &[0xFFu8; 64][..]] {
            target(data);
        }
        eprintln!("fuzz target {name}: {} stored inputs replayed", files.len());
    }
}
