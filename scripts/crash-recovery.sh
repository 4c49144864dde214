#!/usr/bin/env bash
# Crash recovery (SPEC §8, issue 7): kill `ketenzicht serve` with SIGKILL at random moments while
# a client streams events through the socket's `ingest`, restart it, and prove that every
# acknowledged event is stored exactly once and that re-sending is safe. See scripts/crash_recovery.py.
#
#   scripts/crash-recovery.sh [ROUNDS] [SEED]     # default 20 rounds, a new seed each run (printed)
#
# Builds the release binary first (KZ_BINARY=path skips that). The input is a generated
# municipality (scripts/generate_municipality.py), large enough that no round runs out of events;
# it is kept in ${KZ_CRASH_DATA:-/tmp/kz-crash-data} for later runs. Exit 0: every round survived,
# nothing lost, nothing duplicated.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds="${1:-20}"
seed="${2:-$(( $(date +%s) % 100000 ))}"
data="${KZ_CRASH_DATA:-/tmp/kz-crash-data}"
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
command -v python3 >/dev/null || { echo "crash-recovery: python3 is needed (scripts/setup.sh installs it)" >&2; exit 2; }

if [ -n "${KZ_BINARY:-}" ]; then
    binary="$KZ_BINARY"
else
    swift build -c release --package-path "$root" --product ketenzicht 2>&1 | grep -E "error|warning: " >&2 || true
    binary="$root/.build/release/ketenzicht"
fi
[ -x "$binary" ] || { echo "crash-recovery: no binary at $binary" >&2; exit 2; }

# About 40,000 events a round at most (2 s of streaming); 20 rounds fit in ~800,000 events.
referrals=$(( rounds * 12000 ))
input="$data/r$referrals/municipality.ndjson"
if [ ! -s "$input" ]; then
    mkdir -p "$data/r$referrals"
    python3 "$root/scripts/generate_municipality.py" --seed 31 --referrals "$referrals" --end 2026-11-01 \
        --out "$data/r$referrals" --format json --no-readme --quiet
fi

exec python3 "$root/scripts/crash_recovery.py" --binary "$binary" --events "$input" --work "$data/run" \
    --rounds "$rounds" --seed "$seed"
