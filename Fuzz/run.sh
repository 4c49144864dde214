#!/usr/bin/env bash
# Builds the libFuzzer targets with ASan and runs each for a while, one after the other, then
# prints and writes a summary per target. Exits non-zero when any target found a crash, a timeout,
# an out-of-memory or a leak.
#
#   Fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     # default: 60 s each, every target
#
# Targets: fuzz-cloudevents fuzz-xml fuzz-istandaarden fuzz-jsonrpc fuzz-rpc-dispatch
#
# Environment:
#   KZ_FUZZ_WORK      working directory (default /tmp/kz-fuzz): corpora, artifacts, logs, summaries
#   KZ_FUZZ_FRESH=1   start each target's working corpus from the committed seeds again
#   KZ_FUZZ_NO_BUILD=1  use the binaries already built
#   KZ_FUZZ_ARGS      extra libFuzzer flags for every target (e.g. "-jobs=2 -workers=2")
#
# The committed seeds (Fuzz/Corpus/) are never written: each target fuzzes a copy in
# $KZ_FUZZ_WORK/corpus/<target>, kept between runs so that runs add up. Findings land in
# $KZ_FUZZ_WORK/runs/<stamp>/<target>/ (crash-*, timeout-*, oom-*, leak-*); see README.md for
# reproducing one and turning it into a regression test.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"

all_targets=(fuzz-cloudevents fuzz-xml fuzz-istandaarden fuzz-jsonrpc fuzz-rpc-dispatch)
seconds="${1:-60}"
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
case "$seconds" in ''|*[!0-9]*) echo "run.sh: SECONDS_PER_TARGET must be a whole number, got '$seconds'" >&2; exit 2 ;; esac
for target in "${targets[@]}"; do
    [[ " ${all_targets[*]} " == *" $target "* ]] || { echo "run.sh: unknown target $target (known: ${all_targets[*]})" >&2; exit 2; }
done

work="${KZ_FUZZ_WORK:-/tmp/kz-fuzz}"
stamp="$(date +%Y%m%d-%H%M%S)"
run_dir="$work/runs/$stamp"
mkdir -p "$run_dir"

# Seeds, dictionary and input size limit per target.
seeds_of() { case "$1" in fuzz-rpc-dispatch) echo fuzz-jsonrpc ;; *) echo "$1" ;; esac; }
dict_of() {
    case "$1" in
        fuzz-cloudevents) echo json.dict ;;
        fuzz-xml) echo xml.dict ;;
        fuzz-istandaarden) echo istandaarden.dict ;;
        *) echo jsonrpc.dict ;;
    esac
}
max_len_of() {
    case "$1" in
        fuzz-istandaarden) echo 16384 ;;
        fuzz-cloudevents|fuzz-xml) echo 8192 ;;
        *) echo 2048 ;;
    esac
}

# 1. Build. -sanitize=fuzzer instruments every Swift module for coverage (the decoders included,
#    not only the harness) and links libFuzzer's main; -parse-as-library because the targets have
#    no top-level code, only LLVMFuzzerTestOneInput. C modules (libxml2, SQLite, BoringSSL) are not
#    instrumented: they need not be for linking, and their coverage is not what is measured here.
build=(swift build -c debug --package-path "$here" --scratch-path "$here/.build"
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
if [ "${KZ_FUZZ_NO_BUILD:-0}" != 1 ]; then
    echo "== building: ${build[*]}" >&2
    # gold warns once per ASan helper symbol ("Cannot export local symbol"): harmless, and hundreds.
    "${build[@]}" 2>&1 | grep -v 'Cannot export local symbol' >&2 || true
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "run.sh: build failed" >&2; exit 2; }
fi
bin="$here/.build/debug"

# 2. Fuzz, one target at a time (the machine's cores are shared).
# The Swift runtime's own backtracer would catch a trap first (and trip ASan reading memory for
# its report): leave traps to libFuzzer, which saves the input and prints the stack.
export SWIFT_BACKTRACE=enable=no
summary="$run_dir/summary.tsv"
printf 'target\tseconds\texecutions\texec_per_s\tcoverage\tfeatures\tcorpus\tcrashes\ttimeouts\tooms\tleaks\texit\n' > "$summary"
failed=0
for target in "${targets[@]}"; do
    corpus="$work/corpus/$target"
    [ "${KZ_FUZZ_FRESH:-0}" = 1 ] && rm -rf "$corpus"
    mkdir -p "$corpus"
    cp -n "$here/Corpus/$(seeds_of "$target")"/* "$corpus/" 2>/dev/null || true
    out="$run_dir/$target"
    mkdir -p "$out"
    log="$out/fuzz.log"
    echo "== $target: ${seconds}s, corpus $corpus ($(ls "$corpus" | wc -l) inputs), log $log" >&2
    # A copy of the binary, so that a rebuild during a long run cannot pull it away.
    mkdir -p "$work/bin"
    cp "$bin/$target" "$work/bin/$target"
    started=$(date +%s)
    status=0
    # shellcheck disable=SC2086
    "$work/bin/$target" "$corpus" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len_of "$target")" \
        -dict="$here/Dictionaries/$(dict_of "$target")" -artifact_prefix="$out/" \
        -print_final_stats=1 -print_pcs=0 ${KZ_FUZZ_ARGS:-} > "$log" 2>&1 || status=$?
    elapsed=$(( $(date +%s) - started ))
    final_stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
    executions="$(final_stat number_of_executed_units)"
    rate="$(final_stat average_exec_per_sec)"
    last="$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)"
    coverage="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")"
    features="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")"
    inputs="$(ls "$corpus" | wc -l)"
    count() { find "$out" -maxdepth 1 -name "$1-*" | wc -l; }
    crashes=$(count crash); timeouts=$(count timeout); ooms=$(count oom); leaks=$(count leak)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$elapsed" "${executions:-?}" "${rate:-?}" \
        "${coverage:-?}" "${features:-?}" "$inputs" "$crashes" "$timeouts" "$ooms" "$leaks" "$status" >> "$summary"
    if [ $((crashes + timeouts + ooms + leaks)) -gt 0 ] || [ "$status" -ne 0 ]; then
        failed=1
        echo "   FOUND: $(find "$out" -maxdepth 1 \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | tr '\n' ' ')" >&2
        grep -m3 -E 'ERROR: |Fatal error|panic|deadly signal' "$log" | sed 's/^/   /' >&2 || true
    fi
done

# 3. The summary: this run, then the totals of every run kept in $work.
echo
echo "Fuzz run $stamp (${seconds}s per target; artifacts and logs in $run_dir)"
column -t -s $'\t' "$summary"
cat "$work"/runs/*/summary.tsv | awk -F'\t' '
    $1 == "target" { next }
    { seconds[$1] += $2; if ($3 ~ /^[0-9]+$/) runs[$1] += $3; found[$1] += $8 + $9 + $10 + $11; if (!($1 in order)) { order[$1] = ++n; names[n] = $1 } }
    END {
        print ""; print "All runs kept in '"$work"':"
        printf "%-20s %10s %14s %8s\n", "target", "seconds", "executions", "found"
        for (i = 1; i <= n; i++) { t = names[i]; printf "%-20s %10d %14d %8d\n", t, seconds[t], runs[t], found[t] }
    }' | tee "$run_dir/totals.txt"
cp "$summary" "$work/latest-summary.tsv"
exit $failed
