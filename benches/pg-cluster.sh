# Sourced by the PostgreSQL bench scripts: starts a throwaway cluster.
#
# usage: . benches/pg-cluster.sh; pg_cluster WORKDIR [extra postgres -c settings...]
# Empties WORKDIR, runs initdb and pg_ctl there (as the postgres user when
# run as root), stops the cluster when the script exits, and exports
# PGHOST, PGPORT and PGUSER. Sets `bin` (CAIRN_PG_BIN or PostgreSQL 15's)
# and defines `as_pg` and `psql` (quiet, stops on the first error).
bin="${CAIRN_PG_BIN:-/usr/lib/postgresql/15/bin}"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
psql() { "$bin/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
pg_cluster() {
    local work="$1"; shift
    local opts="-c listen_addresses='' -c fsync=off" port s
    for s in "$@"; do opts="$opts -c $s"; done
    rm -rf "$work"; mkdir -p "$work"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$work"; fi
    as_pg "$bin/initdb" -D "$work/data" -A trust -U postgres --no-sync >/dev/null
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_pg "$bin/pg_ctl" -D "$work/data" -o "-p $port -k $work $opts" -l "$work/log" -w start >/dev/null
    # shellcheck disable=SC2064  # expand $work now: it is local
    trap "as_pg '$bin/pg_ctl' -D '$work/data' -m immediate stop >/dev/null" EXIT
    export PGHOST="$work" PGPORT="$port" PGUSER=postgres
}
