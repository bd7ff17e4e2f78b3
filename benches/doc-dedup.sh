#!/usr/bin/env bash
# A day's change of 1% of a MongoDB collection's documents: what it adds to
# cairn (one line per chunking profile, from benches/src/bin/doc-dedup.rs),
# restic and borg, on the same bytes in the same run.
#
# doc-dedup writes the collection as the MongoDB adapter stores it (raw BSON
# in _id order) before and after the change; each peer backs up the first
# version, then the second, and the growth of its repository on disk is what
# the change cost it. Installs restic and borgbackup from Debian when
# missing.
#
# usage: benches/doc-dedup.sh [WORKDIR]   (default /dev/shm/cairn-docdedup;
#        DOCS=200000 documents, SEED=1)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-/dev/shm/cairn-docdedup}"
docs="${DOCS:-200000}"
seed="${SEED:-1}"
for tool in restic borg; do
    if ! command -v "$tool" >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic borgbackup >/dev/null
    fi
done
rm -rf "$work" && mkdir -p "$work"
cd "$here/.."
cargo run -q -p cairn-benches --bin doc-dedup -- "$docs" "$seed" --write "$work/data"
cargo run -q -p cairn-benches --bin doc-dedup -- "$docs" "$seed"
size() { du -sb "$1" | cut -f1; }
changed=$(cat "$work/data/changed-bytes")
peer() { # NAME INIT BACKUP (commands take the repository as $repo, the source as $src)
    local name=$1 repo="$work/$1-repo" src="$work/$1-src"
    mkdir -p "$src"
    cp "$work/data/v1.bson" "$src/tickets.bson"
    repo="$repo" src="$src" bash -c "$2" >/dev/null 2>&1
    repo="$repo" src="$src" bash -c "$3" >/dev/null
    local one; one=$(size "$repo")
    cp "$work/data/v2.bson" "$src/tickets.bson"
    repo="$repo" src="$src" bash -c "$3" >/dev/null
    local two; two=$(size "$repo")
    echo "| $name | $one | $((two - one)) | $(awk -v a=$((two - one)) -v b="$changed" 'BEGIN{printf "%.1fx", a/b}') |"
}
echo
echo "| peer (default chunking) | repository after the first backup | added by the second | / changed |"
echo "|---|---|---|---|"
export RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
peer "restic $(restic version | cut -d' ' -f2)" 'restic -q init -r "$repo"' 'restic -q -r "$repo" backup "$src"'
peer "borg $(borg --version | cut -d' ' -f2)" 'borg init -e repokey-blake2 "$repo"' 'borg create --compression zstd,3 "$repo::$(date +%s%N)" "$src"'
