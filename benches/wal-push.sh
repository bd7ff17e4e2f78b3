#!/usr/bin/env bash
# WAL archiving throughput, side by side in one run: `cairn wal push`
# into a local and an S3 (moto on 127.0.0.1) repository, and
# `pgbackrest archive-push` (zstd, aes-256-cbc: compressed and encrypted
# like cairn) into a local repository, on the same real WAL segments.
# Each push is its own process, as archive_command runs it one segment at
# a time. Prints segments per second (median of RUNS) and the repository
# size after one run.
#
# usage: benches/wal-push.sh [--segments N] [--runs N] [--work DIR] [--cairn PATH]
# Defaults: 40 segments (640 MiB of WAL from pgbench), 3 runs,
# /dev/shm/cairn-wal-bench, target/release/cairn (built if missing).
# Needs PostgreSQL 15 and pgbackrest (Debian: apt-get install postgresql
# pgbackrest) and, for S3, moto in CAIRN_MOTO_PYTHON's environment.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.."
segments=40; runs=3; work=/dev/shm/cairn-wal-bench; cairn=
while [ $# -gt 0 ]; do
    case "$1" in
        --segments) segments="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --work) work="$2"; shift 2 ;;
        --cairn) cairn="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
if [ -z "$cairn" ]; then
    cargo build --release -q -p cairn-cli --manifest-path "$root/Cargo.toml"
    cairn="$root/target/release/cairn"
fi
command -v pgbackrest >/dev/null || { echo "pgbackrest is missing: apt-get install pgbackrest" >&2; exit 1; }
py="${CAIRN_MOTO_PYTHON:-python3}"
# shellcheck source=benches/pg-cluster.sh
. "$here/pg-cluster.sh"

rm -rf "$work"; mkdir -p "$work/segs"
[ "$(id -u)" = 0 ] && chown -R postgres: "$work"
pg_cluster "$work/pg" archive_mode=on wal_level=replica "archive_command='cp %p $work/segs/%f'"
echo "generating $segments WAL segments with pgbench" >&2
as_pg "$bin/pgbench" -i -q -s 10 postgres >/dev/null 2>&1
while [ "$(ls "$work/segs" | grep -c '^[0-9A-F]\{24\}$')" -lt "$segments" ]; do
    as_pg "$bin/pgbench" -n -t 20000 -c 2 postgres >/dev/null 2>&1
    as_pg "$bin/psql" -X -q -c 'SELECT pg_switch_wal()' postgres >/dev/null
    sleep 0.5
done
mapfile -t segs < <(ls "$work/segs" | grep '^[0-9A-F]\{24\}$' | head -n "$segments")

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# push_all CMD...: runs CMD SEGMENT for every segment, prints segments/s.
push_all() {
    local t0 t1 s
    t0=$(date +%s.%N)
    for s in "${segs[@]}"; do as_pg "$@" "$work/segs/$s" >/dev/null 2>&1 || { echo "push of $s failed" >&2; exit 1; }; done
    t1=$(date +%s.%N)
    echo "$segments / ($t1 - $t0)" | bc -l
}

key="$work/key"
cairn_local() {
    local repo="$work/cairn-local"; rm -rf "$repo" "$work/cache" "$key.local"
    as_pg "$cairn" --repo "$repo" init --generate-key-file "$key.local" >/dev/null 2>&1
    push_all env CAIRN_KEY_FILE="$key.local" CAIRN_CACHE_DIR="$work/cache" "$cairn" --repo "$repo" -q wal push
}
moto_port=
cairn_s3() {
    local repo="s3://wal/run$1"; rm -rf "$work/cache"
    local env=(env AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing CAIRN_S3_ENDPOINT="http://127.0.0.1:$moto_port")
    as_pg "${env[@]}" "$cairn" --repo "$repo" init --generate-key-file "$key.s3.$1" >/dev/null 2>&1
    push_all "${env[@]}" CAIRN_KEY_FILE="$key.s3.$1" CAIRN_CACHE_DIR="$work/cache" "$cairn" --repo "$repo" -q wal push
}
pgbr() {
    local d="$work/pgbr"; rm -rf "$d"; mkdir -p "$d/repo" "$d/log" "$d/lock"
    cat > "$d/pgbackrest.conf" <<CONF
[global]
repo1-path=$d/repo
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=bench-passphrase
compress-type=zst
log-path=$d/log
lock-path=$d/lock
log-level-console=warn
[bench]
pg1-path=$work/pg/data
pg1-socket-path=$PGHOST
pg1-port=$PGPORT
CONF
    [ "$(id -u)" = 0 ] && chown -R postgres: "$d"
    as_pg pgbackrest --config="$d/pgbackrest.conf" --stanza=bench stanza-create >/dev/null
    push_all pgbackrest --config="$d/pgbackrest.conf" --stanza=bench archive-push
}

if "$py" -c 'import moto.server' 2>/dev/null; then
    moto_port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$py" -m moto.server -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 &
    moto_pid=$!
    trap 'kill $moto_pid 2>/dev/null; as_pg "$bin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null' EXIT
    for _ in $(seq 50); do (echo > "/dev/tcp/127.0.0.1/$moto_port") 2>/dev/null && break; sleep 0.2; done
    "$py" -c "import urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:$moto_port/wal', method='PUT'))"
else
    echo "moto not found (set CAIRN_MOTO_PYTHON): skipping S3" >&2
fi

declare -A res
for run in $(seq "$runs"); do
    res[cairn-local]+="$(cairn_local) "
    [ -n "$moto_port" ] && res[cairn-s3]+="$(cairn_s3 "$run") "
    res[pgbackrest-local]+="$(pgbr) "
done
wal_mb=$(du -sm --apparent-size "$work/segs" | cut -f1)
printf '%s segments of real pgbench WAL (%s MB in the archive dir), %s runs, one process per segment\n' "$segments" "$wal_mb" "$runs"
printf '%-18s %14s %12s %14s\n' tool "segments/s" "MB/s" "repo size"
for t in cairn-local cairn-s3 pgbackrest-local; do
    [ -n "${res[$t]:-}" ] || continue
    m=$(echo "${res[$t]}" | tr ' ' '\n' | grep . | median)
    case "$t" in
        cairn-local) size=$(du -sh "$work/cairn-local" | cut -f1) ;;
        pgbackrest-local) size=$(du -sh "$work/pgbr/repo" | cut -f1) ;;
        *) size="(moto)" ;;
    esac
    printf '%-18s %14.1f %12.1f %14s   runs: %s\n' "$t" "$m" "$(echo "$m * 16.777216" | bc -l)" "$size" "${res[$t]}"
done
