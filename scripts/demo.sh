#!/usr/bin/env bash
# The main command of the README: installs what is missing, builds a release binary, and runs
# Ketenzicht on the bundled sample municipality in a fresh state directory (run/demo-state).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh
echo "== building (release; the first build takes a few minutes)"
swift build -c release --product ketenzicht 2>&1 | grep -E "error|warning:|Compiling ketenzicht|Build" || true
bin=.build/release/ketenzicht
[ -x "$bin" ] || { echo "build failed" >&2; exit 1; }
state=run/demo-state
rm -rf "$state"
mkdir -p run
echo
echo "== ingest the sample municipality (CloudEvents JSON) into $state"
"$bin" ingest --state "$state" samples/municipality.ndjson
echo
echo "== ingest the same events as canonical XML: every event is a duplicate, nothing changes"
"$bin" ingest --state "$state" samples/municipality.xml
echo
echo "== ingest a file with deliberate mistakes: valid events are kept, the rest quarantined (exit 1)"
"$bin" ingest --state "$state" --max-errors 12 samples/municipality-invalid.ndjson || echo "(exit status $?: some events were rejected, as intended)"
echo
echo "== what the state directory holds after a restart (the model is rebuilt from the store)"
"$bin" status --state "$state"
echo
echo "== the latest quarantined input"
"$bin" quarantine --state "$state" --limit 5
