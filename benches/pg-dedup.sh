#!/usr/bin/env bash
# Day-to-day dedup of PostgreSQL dumps: formats x chunk sizes x change kinds.
#
# Starts a throwaway PostgreSQL cluster, builds a database of several
# hundred MB with pgbench (SCALE, default 30) plus a text-heavy table, dumps
# it in custom (-Z0), directory (-Z0) and plain formats, applies one day of
# change, dumps again, and reports with dedup_matrix what the second backup
# adds, for (a) append-heavy change: 1% new rows and a contiguous 0.1%
# updated, and (b) scattered change: 1% of rows updated at random.
#
# usage: benches/pg-dedup.sh [WORKDIR]   (default /dev/shm/cairn-pgdedup)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-/dev/shm/cairn-pgdedup}"
scale="${SCALE:-30}"
. "$here/pg-cluster.sh"
pg_cluster "$work" max_wal_size=4GB
psql -d postgres -c "CREATE DATABASE a"
"$bin/pgbench" -i -q -s "$scale" a 2>/dev/null
psql -d a <<'SQL'
CREATE TABLE notes (id bigint PRIMARY KEY, author int, body text, created date);
SELECT setseed(0.42);
INSERT INTO notes SELECT g, (random()*1000)::int, md5(g::text) || ' ' || repeat(md5((g*7)::text), 3), date '2026-01-01' + (g % 300) FROM generate_series(1, 400000) g;
VACUUM ANALYZE;
SQL
psql -d postgres -c "CREATE DATABASE b TEMPLATE a"
dump() { # DB NAME
    "$bin/pg_dump" -Fc -Z0 -f "$work/$2.dump" "$1"
    "$bin/pg_dump" -Fd -Z0 -f "$work/$2.dir" "$1"
    "$bin/pg_dump" -Fp -f "$work/$2.sql" "$1"
}
dump a day1
rows=$(psql -d a -At -c "SELECT count(*) FROM pgbench_accounts")
# (a) append-heavy: 1% new accounts and notes, a contiguous 0.1% updated.
psql -d a <<SQL
INSERT INTO pgbench_accounts SELECT $rows + g, 1, 0, repeat(' ', 84) FROM generate_series(1, $rows / 100) g;
INSERT INTO notes SELECT 400000 + g, g % 1000, md5(g::text) || ' new', date '2026-11-01' FROM generate_series(1, 4000) g;
UPDATE pgbench_accounts SET abalance = abalance + 7 WHERE aid BETWEEN 1000 AND 1000 + $rows / 1000;
SQL
changed_a=$(psql -d a -At -c "SELECT sum(octet_length(t::text)) FROM pgbench_accounts t WHERE aid > $rows OR aid BETWEEN 1000 AND 1000 + $rows / 1000")
changed_a=$((changed_a + $(psql -d a -At -c "SELECT sum(octet_length(t::text)) FROM notes t WHERE id > 400000")))
dump a day2a
# (b) scattered: 1% of accounts and notes updated at random.
psql -d b <<'SQL'
SELECT setseed(0.7);
UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE random() < 0.01;
UPDATE notes SET author = author + 1 WHERE random() < 0.01;
SQL
changed_b=$(psql -d b -At -c "SELECT sum(octet_length(t::text)) FROM pgbench_accounts t WHERE abalance <> 0")
dump b day2b
cargo build --release -q -p cairn-postgres --example dedup_matrix --manifest-path "$here/../Cargo.toml"
m="$here/../target/release/examples/dedup_matrix"
echo "custom dump size: $(du -m "$work/day1.dump" | cut -f1) MB; rows in pgbench_accounts: $rows"
echo "(a) append-heavy: changed rows as text: $((changed_a / 1000000)) MB"
echo "(b) scattered: changed rows as text: $((changed_b / 1000000)) MB"
for case in a b; do
    for fmt in dump dir sql; do
        echo "== case $case, format $fmt"
        "$m" "$work/day1.$fmt" "$work/day2$case.$fmt"
    done
done
