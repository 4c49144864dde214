#!/usr/bin/env bash
# The test command of the README: installs what is missing, builds, runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh
swift build --build-tests
# Swift Testing only: --disable-xctest keeps XCTest's empty "Executed 0 tests" out of the count.
# The per-test "started" lines are dropped; results and the closing count stay.
set +e
swift test --skip-build --disable-xctest 2>&1 | grep -v '^◇'
status=${PIPESTATUS[0]}
exit "$status"
