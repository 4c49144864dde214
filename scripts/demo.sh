#!/usr/bin/env bash
# The main command of the README: installs what is missing, builds a release binary, and runs
# Ketenzicht on the bundled sample municipality, in a fresh directory run/demo:
# first straight into a state directory, then as a daemon answering over its socket.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh
echo "== building (release; the first build takes a few minutes)"
swift build -c release --product ketenzicht 2>&1 | grep -E "error|warning:|Build" || true
bin=$PWD/.build/release/ketenzicht
[ -x "$bin" ] || { echo "build failed" >&2; exit 1; }
demo=run/demo
rm -rf "$demo"
mkdir -p "$demo"
asof=2026-11-01

echo
echo "== 1. ingest the sample municipality (CloudEvents JSON) into $demo/state"
"$bin" ingest --state "$demo/state" samples/municipality.ndjson
echo
echo "== 2. the same events as canonical XML: all duplicates, nothing changes"
"$bin" ingest --state "$demo/state" samples/municipality.xml
echo
echo "== 3. a file with deliberate mistakes: valid events kept, the rest quarantined (exit 1)"
"$bin" ingest --state "$demo/state" --max-errors 8 samples/municipality-invalid.ndjson || echo "(exit status $?: some events were rejected, as intended)"
echo
echo "== 4. the daemon: socket $demo/ketenzicht.sock"
"$bin" serve --state "$demo/state" --socket "$demo/ketenzicht.sock" --graphs "$demo/graphs" 2> "$demo/daemon.log" &
daemon=$!
trap 'kill $daemon 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$demo/ketenzicht.sock" ] && break; sleep 0.1; done
echo
echo "== 5. a coordinator: where is it stuck? (as of $asof)"
"$bin" bottlenecks --socket "$demo/ketenzicht.sock" --as-of "$asof" --top 8
echo
echo "== 6. what if the GGZ bottleneck got 4 intakes a week?"
"$bin" whatif ggz-beukenkamp --capacity-per-week 4 --socket "$demo/ketenzicht.sock" --as-of "$asof"
echo
echo "== 7. an MDT: one case, its regisseur and projected starts"
"$bin" case c-000661 --socket "$demo/ketenzicht.sock" --as-of "$asof"
"$bin" dot case c-000661 --socket "$demo/ketenzicht.sock" --as-of "$asof"
echo
echo "== 8. the raw protocol, as outside tools use it"
echo '{"jsonrpc":"2.0","id":1,"method":"stats"}' | socat - UNIX-CONNECT:"$demo/ketenzicht.sock"
echo
echo "== 9. stop the daemon (SIGTERM: finishes in-flight work, exits 0)"
kill -TERM $daemon
wait $daemon && echo "daemon exited with status 0"
trap - EXIT
