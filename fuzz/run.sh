#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600) and prints one line
# per target: executions, time, and whether it found anything.
#   bash fuzz/run.sh            # 10 minutes per target
#   bash fuzz/run.sh 20         # the short CI run
#   bash fuzz/run.sh 600 blob   # one target
# Needs cargo-fuzz (installed when missing) and uses RUSTC_BOOTSTRAP=1 so
# the sanitizer flags work on a stable toolchain. Crashes are written to
# fuzz/artifacts/<target>/; copy them to fuzz/regressions/<target>/ once
# fixed, so that `cargo test` replays them.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(pack_header index_file snapshot tree key_slot config blob model gc_files mongo_archive)
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "corpus-new/$t" "artifacts/$t" "regressions/$t"
    log=$(mktemp)
    if cargo fuzz run -O "$t" "corpus-new/$t" "corpus/$t" "regressions/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=60 -print_final_stats=1 \
        >"$log" 2>&1; then
        verdict=clean
    else
        verdict="FOUND (see fuzz/artifacts/$t)"
        status=1
        grep -E "panicked|ERROR|SUMMARY" "$log" | head -5 >&2 || true
    fi
    # A log without the stats (a target that died early) must not end the
    # script silently under `set -e -o pipefail`: the line says "?".
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1 || true)
    tsec=$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | grep -Eo 'in [0-9]+' | grep -Eo '[0-9]+' | tail -1 || true)
    printf '%-12s %12s execs %6ss  %s\n' "$t" "${runs:-?}" "${tsec:-$secs}" "$verdict"
    rm -f "$log"
done
exit $status
