#!/usr/bin/env bash
# Quick end-to-end figures for cairn alone: first backup, unchanged
# re-backup (with and without parent), stream backup with the database
# profile, restore and dump; wall time, CPU and peak RSS, median of RUNS.
#
# usage: benches/quick.sh [WORKDIR]   (default /dev/shm/cairn-bench)
# env:   RUNS (3), SQL_MB (1000), RANDOM_MB (1000), SMALL_FILES (0), SEED (1)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-/dev/shm/cairn-bench}"
runs="${RUNS:-3}"
cargo build --release -q -p cairn-cli --manifest-path "$here/../Cargo.toml"
bin="$here/../target/release/cairn"
mkdir -p "$work"
if [ ! -f "$work/data/.done-${SEED:-1}-${SQL_MB:-1000}-${RANDOM_MB:-1000}-${SMALL_FILES:-0}" ]; then
    rm -rf "$work/data"
    python3 "$here/gen-data.py" "$work/data" --seed "${SEED:-1}" --sql-mb "${SQL_MB:-1000}" \
        --random-mb "${RANDOM_MB:-1000}" --small-files "${SMALL_FILES:-0}"
    touch "$work/data/.done-${SEED:-1}-${SQL_MB:-1000}-${RANDOM_MB:-1000}-${SMALL_FILES:-0}"
fi
echo pw > "$work/pw"
export CAIRN_PASSWORD_FILE="$work/pw"

# measure NAME CMD...: appends "NAME wall user sys maxrss_kib" to $work/raw
measure() {
    local name="$1"; shift
    sync
    /usr/bin/time -f "$name %e %U %S %M" -a -o "$work/raw" "$@" >/dev/null
}

rm -f "$work/raw"
for i in $(seq "$runs"); do
    for set in sql random; do
        repo="$work/repo-$set"; rm -rf "$repo"
        CAIRN_REPOSITORY="$repo" "$bin" init -q >/dev/null
        export CAIRN_REPOSITORY="$repo"
        measure "$set/first-backup" "$bin" -q backup "$work/data/$set"
        measure "$set/rebackup-parent" "$bin" -q backup "$work/data/$set"
        measure "$set/rebackup-no-parent" "$bin" -q backup "$work/data/$set" --parent none
        rm -rf "$work/out"
        measure "$set/restore" "$bin" -q restore latest --target "$work/out"
        rm -rf "$work/out"
    done
    export CAIRN_REPOSITORY="$work/repo-sql"
    measure "sql/stream-database-profile" sh -c "'$bin' -q backup --stdin --stdin-name d.sql --profile database < '$work/data/sql/dump.sql'"
    measure "sql/dump-database-stream" sh -c "'$bin' dump latest d.sql > /dev/null"
    unset CAIRN_REPOSITORY
done
size_mb() { du -sm "$1" | cut -f1; }
echo "dataset: sql $(size_mb "$work/data/sql") MB, random $(size_mb "$work/data/random") MB; runs: $runs (medians)"
printf '%-30s %8s %8s %8s %10s %10s\n' step wall_s user_s sys_s rss_mib MB/s
python3 - "$work/raw" "$(size_mb "$work/data/sql")" "$(size_mb "$work/data/random")" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, *vals = line.split()
    rows[name].append([float(v) for v in vals])
size = {"sql": float(sys.argv[2]), "random": float(sys.argv[3])}
for name, vals in rows.items():
    med = [statistics.median(col) for col in zip(*vals)]
    mbps = size[name.split("/")[0]] / med[0] if med[0] > 0 else 0
    print(f"{name:<30} {med[0]:8.2f} {med[1]:8.2f} {med[2]:8.2f} {med[3] / 1024:10.1f} {mbps:10.0f}")
PY
echo "repository sizes: sql $(size_mb "$work/repo-sql") MB, random $(size_mb "$work/repo-random") MB"
