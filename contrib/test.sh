#!/usr/bin/env bash
# The one test command: installs the dependencies (contrib/install-deps.sh), configures and builds
# from scratch in build/ (KEEP_BUILD=1 keeps an existing build/), then runs every test with ctest
# and exits with its status. Extra arguments go to ctest, e.g. `contrib/test.sh -L unit`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash contrib/install-deps.sh

if [[ ${KEEP_BUILD:-0} != 1 ]]; then
  echo "test: fresh build in build/"
  rm -rf build
else
  echo "test: build in build/ (KEEP_BUILD=1)"
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"

echo "test: ctest"
set +e
ctest --test-dir build --output-on-failure -j2 "$@" </dev/null 2>&1 | tee build/ctest.out
status=${PIPESTATUS[0]}
set -e
# criterion's own summary of each test executable (ctest keeps their output in its log), then
# ctest's summary again, so that it is the last line.
log=build/Testing/Temporary/LastTest.log
if [[ -f $log ]]; then
  echo "test: criterion summaries"
  awk '/^[0-9]+\/[0-9]+ Testing: / { name = $3 } /Synthesis: Tested/ { print "  " name ": " $0 }' "$log"
fi
grep -E 'tests passed, [0-9]+ tests failed out of' build/ctest.out || true
exit "$status"
