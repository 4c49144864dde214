#!/usr/bin/env bash
# Hostile clients (SPEC §6, issue 7): a daemon with the sample municipality loaded, attacked by
# 200 held connections, connections beyond socket.maxConnections, slowloris senders, oversized
# lines, invalid-JSON floods, clients that never read, and (as root, with setpriv) a uid without
# a level, all at once, while a well-behaved client measures echo and case.get latency and the
# daemon's memory is sampled. See scripts/hostile_clients.py.
#
#   scripts/hostile-clients.sh [SECONDS]      # default 40 s of attack, about a minute in all
#
# Builds the release binary first (KZ_BINARY=path skips that). Exit 1 when the daemon died,
# stopped answering, grew beyond idle RSS + 256 MiB, or a guard was not seen working.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-40}"
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
command -v python3 >/dev/null || { echo "hostile-clients: python3 is needed (scripts/setup.sh installs it)" >&2; exit 2; }

if [ -n "${KZ_BINARY:-}" ]; then
    binary="$KZ_BINARY"
else
    swift build -c release --package-path "$root" --product ketenzicht 2>&1 | grep -E "error|warning: " >&2 || true
    binary="$root/.build/release/ketenzicht"
fi
[ -x "$binary" ] || { echo "hostile-clients: no binary at $binary" >&2; exit 2; }

exec python3 "$root/scripts/hostile_clients.py" run --binary "$binary" --sample "$root/samples/municipality.ndjson" \
    --work "${KZ_HOSTILE_WORK:-/tmp/kz-hostile}" --seconds "$seconds"
