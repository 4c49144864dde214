#!/usr/bin/env bash
# Whole-process comparisons of issue 6 that need a large generated municipality (1,000 parties,
# ~1,000,000 referral events): file to bottleneck table against a PM4Py notebook, the network dot
# view rendered by Graphviz, and the model's resident memory at 1M and 10M referrals.
# Writes the section "End to end, dot and memory" of docs/benchmarks.md (replacing an earlier one).
#
#   Benchmarks/end-to-end.sh     # ~10 minutes on a quiet 2-core machine after the builds
#
# Environment: KZ_BENCH_DATA (default /tmp/kz-bench-data), KZ_BENCH_VENV (default /tmp/kz-bench-venv,
# pm4py is installed into it when missing), KZ_BENCH_RUNS (default 3; medians are reported),
# KZ_BENCH_MEMORY (default "1000000 10000000": model sizes for the memory rows).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
data="${KZ_BENCH_DATA:-/tmp/kz-bench-data}/e2e"
venv="${KZ_BENCH_VENV:-/tmp/kz-bench-venv}"
runs="${KZ_BENCH_RUNS:-3}"
sizes="${KZ_BENCH_MEMORY:-1000000 10000000}"
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
say() { printf '\n== %s\n' "$*" >&2; }
mkdir -p "$data"

# Inputs: fixed seed, cached by the generator's arguments and checksum.
gen_args=(--seed 13 --parties 1000 --cases 80000 --referrals 290000 --end 2026-11-01 --format json)
stamp="${gen_args[*]} $(sha256sum "$root/scripts/generate_municipality.py" | cut -c1-16)"
if [ ! -s "$data/gen/municipality.ndjson" ] || [ "$(cat "$data/.stamp" 2>/dev/null)" != "$stamp" ]; then
    say "generating the municipality (${gen_args[*]})"
    rm -rf "$data/gen" "$data/events.csv"
    python3 "$root/scripts/generate_municipality.py" "${gen_args[@]}" --out "$data/gen" --no-readme --quiet
    echo "$stamp" > "$data/.stamp"
fi
input="$data/gen/municipality.ndjson"
if [ ! -s "$data/events.csv" ]; then
    say "writing the same referral events as a CSV event log for PM4Py"
    python3 "$here/peers.py" to-csv "$input" "$data/events.csv.tmp" > "$data/to-csv.json"
    mv "$data/events.csv.tmp" "$data/events.csv"
fi
if ! "$venv/bin/python" -c 'import pm4py' 2>/dev/null; then
    say "installing pm4py into $venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet pm4py >&2
fi

say "building ketenzicht and kz-bench (release)"
swift build -c release --package-path "$root" --product ketenzicht >&2
swift build -c release --package-path "$here" --product kz-bench >&2
ketenzicht="$root/.build/release/ketenzicht"
bench="$here/.build/release/kz-bench"

results="$data/results.jsonl"
: > "$results"
timed() { # LABEL -- COMMAND...: one JSON line with wall seconds and the child's peak RSS
    local label="$1"; shift 2
    python3 "$here/peers.py" command "$label" "$(stat -c %s "$input")" -- "$@" >> "$results"
}
for run in $(seq "$runs"); do
    say "run $run of $runs"
    rm -rf "$data/state" "$data/graphs"
    timed ours-ingest -- "$ketenzicht" ingest --no-progress --state "$data/state" "$input"
    timed ours-bottlenecks -- "$ketenzicht" bottlenecks --state "$data/state" --as-of 2026-11-01 --top 20
    timed ours-input -- "$ketenzicht" bottlenecks --input "$input" --as-of 2026-11-01 --top 20
    "$venv/bin/python" "$here/peers.py" pm4py "$data/events.csv" >> "$results" 2> "$data/pm4py-table.txt"
    timed pm4py-process -- "$venv/bin/python" "$here/peers.py" pm4py "$data/events.csv"
    "$ketenzicht" dot network --state "$data/state" --as-of 2026-11-01 --graphs "$data/graphs" > /dev/null
    timed dot-svg -- dot -Tsvg "$data/graphs/network.dot" -o "$data/graphs/network-timed.svg"
done
"$ketenzicht" bottlenecks --state "$data/state" --as-of 2026-11-01 --top 5 > "$data/ours-table.txt"
"$ketenzicht" status --state "$data/state" > "$data/status.txt"
say "recomputing every analysis on the 1,000-party state"
"$bench" recompute "$data/state" >> "$results"
for size in $sizes; do
    say "model memory at $size referrals"
    "$bench" model-memory "$size" >> "$results"
done
dot_bytes=$(stat -c %s "$data/graphs/network.dot")
dot_note=$(grep -o 'showing [0-9,]* of [0-9,]* edges[^"]*' "$data/graphs/network.dot" | head -1 || true)

python3 - "$results" "$root/docs/benchmarks.md" "$(uptime)" "$(cat "$data/to-csv.json")" "$dot_bytes" "$dot_note" "$data" "$(cat "$data/status.txt")" <<'PY'
import json, re, statistics, sys
results, doc, load, csv_info, dot_bytes, dot_note, data, status = sys.argv[1:9]
def status_count(label):
    return int(re.search(rf"^{label}\s+(\d+)", status, re.M).group(1))
rows = [json.loads(line) for line in open(results) if line.strip()]
def med(command, key="seconds"):
    values = [r[key] for r in rows if r["command"] == command]
    return statistics.median(values) if values else float("nan")
def peak(command):
    return max(r["peak_rss_kib"] for r in rows if r["command"] == command) / 1024
csv_rows = json.loads(csv_info)["rows"]
events, referrals = status_count("events stored"), status_count("referrals")
ingest, query = med("ours-ingest"), med("ours-bottlenecks")
ours_cli = ingest + query
ours_cli_rss = max(peak("ours-ingest"), peak("ours-bottlenecks"))
in_memory, in_memory_rss = med("ours-input"), peak("ours-input")
in_memory_cpu = med("ours-input", "cpu_s")
pm_process, pm_rss = med("pm4py-process"), peak("pm4py-process")
pm_inner = [r for r in rows if r["command"] == "pm4py-dfg"]
pm_import = statistics.median(r["import_s"] for r in pm_inner)
pm_read = statistics.median(r["read_s"] for r in pm_inner)
pm_dfg = statistics.median(r["dfg_s"] for r in pm_inner)
version = pm_inner[0]["pm4py_version"]
def verdict(ratio, target):
    return f"**met**" if ratio >= target else f"**missed** (needs {target / ratio:.1f}× more)"
dot_s = med("dot-svg")
lines = ["## End to end, dot and memory (issue 6)", "",
  f"A generated municipality of 1,000 parties (`scripts/generate_municipality.py {' '.join(['--seed 13', '--parties 1000', '--cases 80000', '--referrals 290000', '--end 2026-11-01'])}`):",
  f"{events:,} CloudEvents, of which {csv_rows:,} referral events, {referrals:,} referrals. Medians of the runs; wall",
  "clock around whole processes (start-up, imports and exit included) unless said otherwise.", "",
  "### File to bottleneck table vs a PM4Py notebook", "",
  f"The peer reads the same referral events as a CSV event log (case = referral, activity = `<step> <to-party>`) with pandas,",
  f"formats it with `pm4py.format_dataframe` and discovers its performance DFG (`pm4py.discover_performance_dfg`, pm4py {version});",
  "the per-party wait is read off the `created X → started X` edges. Ours is the command line a coordinator runs: a durable",
  "ingest into a fresh state directory (SQLite, `synchronous = FULL`), then `ketenzicht bottlenecks --state` (which replays",
  "the store into the model and computes every §5 metric). `ketenzicht bottlenecks --input` is the same work in one process",
  "without the store, as a coordinator runs it on an export (decode, validate, pseudonymise, model, the bottleneck table).", "",
  "| | seconds | peak RSS | speed-up of ours | memory ratio pm4py/ours |", "|---|---|---|---|---|",
  f"| PM4Py, whole process | {pm_process:.2f} | {pm_rss:.0f} MiB | | |",
  f"| PM4Py, of which import / read + format / DFG | {pm_import:.2f} / {pm_read:.2f} / {pm_dfg:.2f} | | | |",
  f"| ours: `ketenzicht ingest --state` + `ketenzicht bottlenecks --state` | {ingest:.2f} + {query:.2f} = {ours_cli:.2f} | {ours_cli_rss:.0f} MiB | {pm_process / ours_cli:.2f}× | {pm_rss / ours_cli_rss:.2f}× |",
  f"| ours: `ketenzicht bottlenecks --input` (no store) | {in_memory:.2f} | {in_memory_rss:.0f} MiB | {pm_process / in_memory:.2f}× | {pm_rss / in_memory_rss:.2f}× |", "",
  f"Targets: ≥ 3× faster — {verdict(pm_process / ours_cli, 3)} for the command line, {verdict(pm_process / in_memory, 3)} in one process;",
  f"≥ 10× less peak memory — {verdict(pm_rss / ours_cli_rss, 10)} / {verdict(pm_rss / in_memory_rss, 10)}.",
  "How `--input` runs: two threads decode alternate ~1 MiB blocks of the file (the byte scanner, validation,",
  "pseudonymisation, the content digest and the hashes of each event's keys); the model's thread takes their blocks in",
  "turn, so events arrive in input order, and applies each one while prefetching what the next 4–16 will touch (the",
  "duplicate index, the referral and case indexes, rows and key bytes). Then the bottleneck table is read off the rows.",
  f"The run takes {in_memory_cpu:.2f} s of CPU in {in_memory:.2f} s: on two cores the floor is about half the CPU, and 3× PM4Py means",
  f"≤ {pm_process / 3:.2f} s. A profile of this input (`perf record` on `ketenzicht bottlenecks --input`, per thread) puts ~2.3 s",
  "in the two decoding threads (JSON scanning ~25%, building the events' strings, validation, digests) and ~1.6 s in",
  "the model's thread, which sets the pace: the duplicate index, the key tables, timelines and party lookups, its cache",
  "misses mostly hidden by the prefetching, no single hotspot above ~4%. About 11% of that thread is Swift's SipHash",
  "for the party dictionaries keyed by id (`parties`, `timelines`, `partyNumbers`). The previous measurement of the same work",
  "(`kz-bench analyse`: one decoding thread, no lookahead, Strings per referral in the table) took 3.13 s and ~6 s of CPU.",
  "The command line pays the durable store twice (ingest commits every event with `synchronous = FULL`,",
  "`bottlenecks --state` replays the store).",
  "Memory: ours keeps the whole model (every referral with its lifecycle, cases with their assessments, timelines, the",
  "duplicate index) because the same model answers any asOf and any case; PM4Py keeps a pandas frame and aggregates",
  "once. The process alone is ~23 MiB resident before reading anything (the Swift runtime, Foundation and the binary's",
  "pages), the model of these 290k referrals and 1.09M event identities ~75 MiB, plus the decoders' mapped windows and",
  "the blocks in flight; 10× less than PM4Py would be ~48 MiB, below the process plus the model.", "",
  "### Network view of the 1,000-party municipality", "",
  f"`ketenzicht dot network --state` then `dot -Tsvg network.dot`: the dot file is {int(dot_bytes)/1024:.0f} KiB (pruned to the heaviest edges;",
  f"the graph says what was left out{(': “' + dot_note + '”') if dot_note else ''}).", "",
  "| | seconds | target |", "|---|---|---|",
  f"| `dot -Tsvg` of network.dot | {dot_s:.2f} | ≤ 5 s: {'**met**' if dot_s <= 5 else '**missed**'} |", "",
  "### Model memory", "",
  "`kz-bench model-memory N` applies N synthetic referrals (~3.65 events each, the generator's id and source shapes,",
  "every string freshly allocated as a decoder does) to a `ChainModel` and reports resident memory after minus before.", "",
  "| referrals | events | seconds | resident | bytes per referral | target |", "|---|---|---|---|---|---|"]
for r in rows:
    if r["command"] == "model-memory":
        per = r["bytes_per_referral"]
        lines.append(f"| {int(r['referrals']):,} | {r['events']:,} | {r['seconds']:.1f} | {(r['rss_kib'] - r['baseline_rss_kib']) / 1024:,.0f} MiB | {per:.0f} | ≤ 200: {'**met**' if per <= 200 else f'**missed** ({per / 200:.1f}×)'} |")
lines += ["",
  "Where it goes (1M referrals, `ModelStorage.swift`): a 48-byte row per referral (creation time; accepted, started",
  "and ended as 40-bit millisecond offsets; case, from and to as numbers; the next referral of its case), its id and",
  "creating event's identity as bytes in a chunked arena (~20 bytes) found through a bucketed hash index (~14 bytes",
  "with its reference), the duplicate index (8 bytes per event — 48 bits of the identity's hash and 16 of its digest —",
  "at ~⅔ load, ~44 bytes per referral), the per-party timelines (backlog times, ~16 bytes) and referral lists (4 bytes),",
  "and ~16 bytes of case row and case id per case. Everything is chunked so that publishing a snapshot after every",
  "batch and then applying the next copies only what that batch touches. Before this layout: 693 bytes per referral",
  "(persistent hash tries of `Referral` values), and 1,223 before recurring strings were kept once.", "",
  "The allocator's share: glibc keeps freed blocks; growing buckets are split in place one at a time so that no large",
  "temporary copy is left behind as free heap."]
recompute = next((r for r in rows if r["command"] == "recompute"), None)
largest = max((r for r in rows if r["command"] == "model-memory"), key=lambda r: r["referrals"], default=None)
if recompute:
    lines += ["", "### Full recomputation and the per-event update", "",
      f"Full recomputation on the 1,000-party state above ({recompute['events']:,} events; `kz-bench recompute`, at asOf 2026-11-01,",
      "84-day window): PartyMetrics for every party, the regisseur of every case (SPEC §5), betweenness of the window graph.", "",
      "| PartyMetrics | RegieDecision.decideAll | Betweenness | total |", "|---|---|---|---|",
      f"| {recompute['party_metrics_s']:.3f} s ({recompute['parties']} parties) | {recompute['regie_s']:.3f} s ({recompute['cases_decided']:,} cases) | {recompute['betweenness_s']:.3f} s ({recompute['graph_nodes']} nodes) | {recompute['seconds']:.3f} s |"]
if largest:
    lines += ["", f"The incremental update per event — `ChainModel.apply`, which keeps referrals, cases, the per-party timelines (backlog",
      f"and expected wait for any asOf by binary search) and the duplicate index up to date — averaged {largest['seconds'] / largest['events'] * 1e6:.1f} µs",
      f"over the {largest['events']:,} events of the largest model-memory run; nothing is recomputed per event. The daemon caches",
      "PartyMetrics per (snapshot, asOf, window) and regisseur decisions per case revision."]
lines += ["",
  f"Load at the end: `{load.strip()}`.", "",
  "```sh", "Benchmarks/end-to-end.sh", "```", ""]
text = open(doc).read()
text = re.sub(r"## End to end, dot and memory.*?(?=\n## |\Z)", "", text, flags=re.S).rstrip() + "\n\n" + "\n".join(lines)
open(doc, "w").write(text)
PY
echo "docs/benchmarks.md: end-to-end section written" >&2
