#!/usr/bin/env bash
# Installs what Ketenzicht needs on Debian 12 (as root): libxml2 and SQLite headers, xmllint,
# Graphviz, python3. Swift itself is expected at /opt/swift (or on PATH).
set -euo pipefail
need=()
for pkg in libxml2-dev libxml2-utils libsqlite3-dev graphviz python3 pkg-config socat; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing packages ${need[*]}; run as root or install them with apt-get" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! command -v swift >/dev/null 2>&1; then
    if [ -x /opt/swift/usr/bin/swift ]; then
        echo "setup: add /opt/swift/usr/bin to PATH" >&2
    else
        echo "setup: Swift 6.1 or newer is needed (swift not found on PATH or in /opt/swift)" >&2
        exit 1
    fi
fi
