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
status=0
ctest --test-dir build --output-on-failure -j2 "$@" </dev/null || status=$?
exit "$status"
