#!/usr/bin/env bash
# A/B of two cairn builds: a first backup of the compare data set into a
# fresh repository, then a full restore of it, the two builds interleaved
# run by run so the machine's drift lands on both. Prints one row per run
# and step, and the medians.
#
# usage: benches/ab/run.sh OLD_BINARY NEW_BINARY [RUNS] [DATA]
# DATA defaults to the 2 GB set benches/compare/run.sh generates
# (/dev/shm/cairn-compare/data-1-2); run that script once first.
set -euo pipefail
old="$1"; new="$2"; runs="${3:-6}"; data="${4:-/dev/shm/cairn-compare/data-1-2}"
[ -d "$data" ] || { echo "no data set at $data: run benches/compare/run.sh first" >&2; exit 2; }
work="$(mktemp -d /dev/shm/cairn-ab.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo bench > "$work/pw"
export CAIRN_PASSWORD_FILE="$work/pw"
rows="$work/rows"
timed() { # step version command...
    local step="$1" v="$2"; shift 2
    sync; sleep 2
    /usr/bin/time -o "$work/t" -f "%e %U %S %M" "$@" >/dev/null
    echo "$step $v $(cat "$work/t")" | tee -a "$rows"
}
for i in $(seq "$runs"); do
    for v in old new; do
        bin="$old"; [ "$v" = new ] && bin="$new"
        rm -rf "$work/repo" "$work/out"
        "$bin" --repo "$work/repo" init >/dev/null 2>&1
        timed backup "$v" "$bin" --repo "$work/repo" -q backup "$data"
        timed restore "$v" "$bin" --repo "$work/repo" -q restore latest --target "$work/out"
    done
done
python3 - "$rows" <<'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
for step in ("backup", "restore"):
    for v in ("old", "new"):
        r = [list(map(float, x[2:])) for x in rows if x[0] == step and x[1] == v]
        m = [st.median(c[i] for c in r) for i in range(4)]
        print(f"{step} {v}: median wall {m[0]:.2f} s, user {m[1]:.2f} s, sys {m[2]:.2f} s, "
              f"peak RSS {m[3]/1024:.0f} MiB ({len(r)} runs)")
PY
