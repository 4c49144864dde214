#!/usr/bin/env bash
# Throughput benchmarks of Ketenzicht against peers, side by side on the same inputs, and a fresh
# docs/benchmarks.md with the medians, the machine, the load and the commands that reproduce them.
#
#   Benchmarks/run.sh     # from anywhere; ~2.5 minutes on a quiet 2-core machine once built (the first
#                         # build of the snapshot takes ~4 minutes more; waiting for a quiet machine adds up to 5)
#
# Environment: KZ_BENCH_DATA (default /tmp/kz-bench-data: generated inputs, cached, plus the
# results of each run), KZ_BENCH_VENV (default /tmp/kz-bench-venv: python-igraph and networkx),
# KZ_BENCH_RUNS (default 3; the median is reported), KZ_BENCH_NETWORKX=1 (also run networkx
# once as a correctness cross-check of the betweenness scores; slow), KZ_BENCH_QUIET_WAIT (default
# 60: seconds to wait before each measurement for other compilers or busy cores to go away;
# KZ_BENCH_QUIET_BUDGET, default 300, caps the total wait),
# KZ_BENCH_SOURCE=worktree (measure the working tree instead of a snapshot of HEAD).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
data="${KZ_BENCH_DATA:-/tmp/kz-bench-data}"
venv="${KZ_BENCH_VENV:-/tmp/kz-bench-venv}"
runs="${KZ_BENCH_RUNS:-3}"
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"

started=$(date +%s)
say() { printf '\n== %s\n' "$*" >&2; }

for tool in python3 xmllint swift; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done

# 1. Inputs: fixed seed, cached. The stamp holds the generator's arguments and checksum.
gen_args=(--seed 7 --referrals 108000 --end 2026-11-01)
inputs="$data/input"
stamp="${gen_args[*]} $(sha256sum "$root/scripts/generate_municipality.py" | cut -c1-16)"
if [ ! -s "$inputs/municipality.ndjson" ] || [ "$(cat "$inputs/.stamp" 2>/dev/null)" != "$stamp" ]; then
    say "generating inputs (python3 scripts/generate_municipality.py ${gen_args[*]})"
    rm -rf "$inputs.tmp" && mkdir -p "$inputs.tmp"
    python3 "$root/scripts/generate_municipality.py" "${gen_args[@]}" --out "$inputs.tmp" --no-readme --quiet
    echo "$stamp" > "$inputs.tmp/.stamp"
    rm -rf "$inputs" && mv "$inputs.tmp" "$inputs"
fi
json="$inputs/municipality.ndjson"
xml="$inputs/municipality.xml"

# 2. kz-bench, release, in the Benchmarks package's own scratch path. By default it is built against
#    a snapshot of the committed HEAD (git archive; mtimes are the commit's, so rebuilds stay
#    incremental), not the live working tree, which may hold someone's half-finished edit.
#    KZ_BENCH_SOURCE=worktree builds against the working tree in place instead.
commit="$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)"
if [ "${KZ_BENCH_SOURCE:-head}" = head ] && [ "$commit" != unknown ]; then
    snap="$data/src"
    say "snapshot of HEAD $commit in $snap"
    mkdir -p "$snap/Benchmarks"
    find "$snap" -mindepth 1 -maxdepth 1 ! -name Benchmarks -exec rm -rf {} +
    git -C "$root" archive --format=tar HEAD | tar -C "$snap" -xf -
    # The benchmarks themselves come from the working tree (this script's own copy).
    find "$snap/Benchmarks" -mindepth 1 -maxdepth 1 ! -name .build -exec rm -rf {} +
    tar -C "$here" --exclude=./.build --exclude='./.build-*' -cf - . | tar -C "$snap/Benchmarks" -xf -
    # git archive stamps files with the commit time, which can be older than the previous build's
    # plan: touch the manifests so SwiftPM always re-plans (a new dependency would be missed otherwise).
    touch "$snap/Package.swift" "$snap/Benchmarks/Package.swift"
    package="$snap/Benchmarks"
    source_note="HEAD $commit (committed state; uncommitted changes in the working tree not included)"
else
    package="$here"
    source_note="working tree at HEAD $commit$(git -C "$root" diff --quiet HEAD -- Sources 2>/dev/null || echo ' plus uncommitted changes to Sources/')"
fi
scratch="$package/.build"
bin="$scratch/release/kz-bench"
peers="$here/peers.py"
say "building kz-bench (swift build -c release --package-path $package --scratch-path $scratch --product kz-bench)"
swift build -c release --package-path "$package" --scratch-path "$scratch" --product kz-bench >&2

# 3. The betweenness peer.
if ! "$venv/bin/python" -c 'import igraph, networkx' 2>/dev/null; then
    say "installing python-igraph and networkx into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet python-igraph networkx >&2
fi

# 4. The runs. Every result is one JSON line, stored with its label, run number, the load average
#    just before it and the exact command.
results_dir="$data/results"
mkdir -p "$results_dir"
results="$results_dir/$(date -u +%Y%m%dT%H%M%SZ).jsonl"
: > "$results"
show_path() { local p="$1"; p="${p/#$here\//Benchmarks/}"; echo "$p"; }
quiet_spent=0
cpu_busy() { # percent of all cores busy (not idle or iowait) over one second
    local a b
    read -r -a a < /proc/stat; sleep 1; read -r -a b < /proc/stat
    local total=$(( (b[1]+b[2]+b[3]+b[4]+b[5]+b[6]+b[7]+b[8]) - (a[1]+a[2]+a[3]+a[4]+a[5]+a[6]+a[7]+a[8]) ))
    local idle=$(( (b[4]+b[5]) - (a[4]+a[5]) ))
    echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
compilers() { ps -eo comm= | grep -c -E '^(swift-frontend|swift-build|swiftc|clang|clang\+\+|ld|ld\.gold|ld\.lld)$' || true; }
measure() { # label run command...
    local label="$1" run="$2"; shift 2
    local load line shown builds busy waited=0
    # Others on the machine: compilers running (someone building) and the share of all cores busy
    # during the second before the run. On a shared 2-core machine, wait up to KZ_BENCH_QUIET_WAIT
    # seconds (default 60) for them to go away, and no more than KZ_BENCH_QUIET_BUDGET (default 300)
    # seconds in the whole run.
    while builds="$(compilers)" && busy="$(cpu_busy)" && { [ "$builds" -gt 0 ] || [ "$busy" -gt 25 ]; } \
        && [ "$waited" -lt "${KZ_BENCH_QUIET_WAIT:-60}" ] && [ "$quiet_spent" -lt "${KZ_BENCH_QUIET_BUDGET:-300}" ]; do
        sleep 4; waited=$((waited + 5)); quiet_spent=$((quiet_spent + 5))
    done
    load="$(cut -d' ' -f1-3 /proc/loadavg)"
    line="$("$@")"
    shown="$(for a in "$@"; do printf '%q ' "$(show_path "$a")"; done)"
    python3 -c 'import json,sys; r=json.loads(sys.argv[4]); print(json.dumps({"label":sys.argv[1],"run":int(sys.argv[2]),"load":sys.argv[3],"compilers":int(sys.argv[6]),"waited_s":int(sys.argv[7]),"busy_pct":int(sys.argv[8]),"cmd":sys.argv[5].strip(),"result":r}))' \
        "$label" "$run" "$load" "$line" "$shown" "$builds" "$waited" "$busy" >> "$results"
    printf '%-12s run %s  load %s  busy %s%%  compilers %s (waited %ss)  %s\n' "$label" "$run" "$load" "$busy" "$builds" "$waited" "$line" >&2
}
xml_bytes=$(stat -c %s "$xml")

say "XML: xmllint --stream --noout vs kz-bench decode-xml"
for i in $(seq "$runs"); do
    measure xmllint "$i" python3 "$peers" command xmllint "$xml_bytes" -- xmllint --stream --noout "$xml"
    measure decode-xml "$i" "$bin" decode-xml "$xml"
done

say "JSON: Foundation JSONDecoder vs kz-bench decode-json"
for i in $(seq "$runs"); do
    measure jsondecoder "$i" "$bin" jsondecoder "$json"
    measure decode-json "$i" "$bin" decode-json "$json"
done

say "durable ingest through Ledger (SQLite, synchronous = FULL), then rebuild and recompute"
state="$data/state"
for i in $(seq "$runs"); do
    if [ "$i" = 1 ]; then
        rm -rf "$state"
        measure ledger "$i" "$bin" ledger "$json" "$state"
    else
        measure ledger "$i" "$bin" ledger "$json"
    fi
done
for i in $(seq "$runs"); do measure rebuild "$i" "$bin" rebuild "$state"; done
for i in $(seq "$runs"); do measure recompute "$i" "$bin" recompute "$state"; done

say "betweenness: 2,000 nodes / 20,000 edges, kz-bench vs python-igraph"
edges="$data/graph-2000-20000-7.txt"
scores="$data/graph-2000-20000-7.ours.txt"
for i in $(seq "$runs"); do
    measure betweenness "$i" "$bin" betweenness 2000 20000 7 "$edges" "$scores"
    measure igraph "$i" "$venv/bin/python" "$peers" igraph 2000 "$edges" "$scores"
done
if [ "${KZ_BENCH_NETWORKX:-0}" = 1 ]; then
    measure networkx 1 "$venv/bin/python" "$peers" networkx 2000 "$edges" "$scores"
fi

# 5. The report.
elapsed=$(( $(date +%s) - started ))
say "writing docs/benchmarks.md (run took ${elapsed}s)"
KZ_BENCH_SOURCE_NOTE="$source_note" \
KZ_BENCH_BUILD_CMD="swift build -c release --package-path $package --scratch-path $scratch --product kz-bench" \
    python3 "$here/report.py" "$results" "$root/docs/benchmarks.md" "$elapsed"
echo "results: $results" >&2

# 6. The sections measured by their own scripts (they replace their section of the report).
if [ "${KZ_BENCH_EXTRA:-1}" = 1 ]; then
    "$here/socket-latency.sh"
    "$here/istandaarden.sh"
    "$here/end-to-end.sh"
fi
