#!/usr/bin/env bash
# shellcheck disable=SC2317  # the stages are called by name, as "stage_$s"
# The one test command: installs the dependencies (contrib/install-deps.sh), then runs the stages
# named in DDBFS_TEST_STAGES (default: all four, in this order) and exits non-zero when any failed:
#   main      configure and build from scratch in build/ (KEEP_BUILD=1 keeps an existing build/),
#             then every test with ctest.
#   asan      the same suite, e2e included, in build-asan/ (-DDDBFS_SANITIZE=ON: AddressSanitizer,
#             LeakSanitizer and UndefinedBehaviorSanitizer); a report fails the test that saw it.
#   valgrind  the unit tests of build/ under valgrind memcheck (an error or a leak fails).
#   fuzz      the libFuzzer targets of tests/fuzz, built with clang in build-fuzz/, each for
#             DDBFS_FUZZ_SECONDS (default 20).
# DDBFS_TEST_STAGES=main runs only the main stage (the quick local run). Extra arguments go to
# ctest in the main and asan stages, e.g. `contrib/test.sh -L unit`. The last line of the output is
# the overall result.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

stages=${DDBFS_TEST_STAGES:-main asan valgrind fuzz}
for s in $stages; do
  case $s in
    main | asan | valgrind | fuzz) ;;
    *)
      echo "test: unknown stage '$s' in DDBFS_TEST_STAGES (main, asan, valgrind, fuzz)" >&2
      exit 2
      ;;
  esac
done

bash contrib/install-deps.sh

# Configures dir (from scratch unless KEEP_BUILD=1) with the given cmake options and builds it.
build() {
  local dir=$1
  shift
  if [[ ${KEEP_BUILD:-0} != 1 ]]; then
    echo "test: fresh build in $dir/"
    rm -rf "$dir"
  else
    echo "test: build in $dir/ (KEEP_BUILD=1)"
  fi
  # (the stages run in an `if`, where set -e does not apply: every step checks itself)
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" || return 1
  cmake --build "$dir" -j"$(nproc)" || return 1
}

# Runs ctest in dir with the given arguments; prints criterion's summaries and ctest's own.
run_ctest() {
  local dir=$1 status
  shift
  echo "test: ctest in $dir/"
  set +e
  ctest --test-dir "$dir" --output-on-failure -j2 "$@" </dev/null 2>&1 | tee "$dir/ctest.out"
  status=${PIPESTATUS[0]}
  set -e
  # criterion's own summary of each test executable (ctest keeps their output in its log).
  local log=$dir/Testing/Temporary/LastTest.log
  if [[ -f $log ]]; then
    echo "test: criterion summaries"
    awk '/^[0-9]+\/[0-9]+ Testing: / { name = $3 } /Synthesis: Tested/ { print "  " name ": " $0 }' "$log"
  fi
  grep -E 'tests passed, [0-9]+ tests failed out of' "$dir/ctest.out" || true
  return "$status"
}

stage_main() {
  build build || return 1
  run_ctest build "$@"
}

stage_asan() {
  build build-asan -DDDBFS_SANITIZE=ON -DDDBFS_E2E_TIMEOUT=2400 || return 1
  # halt_on_error: a UBSan report ends the process (a test fails, never a line lost in a log).
  # The daemon's peak memory under ASan (shadow memory, quarantine) gets a larger bound.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1:check_initialization_order=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    DDBFS_E2E_RSS_LIMIT_MB=${DDBFS_E2E_RSS_LIMIT_MB:-512} \
    DDBFS_E2E_RESTORE_RSS_LIMIT_MB=${DDBFS_E2E_RESTORE_RSS_LIMIT_MB:-1024} \
    run_ctest build-asan "$@"
}

# Every unit test executable of build/ under valgrind memcheck, two at a time. Criterion runs each
# test in a child process, so valgrind follows children. Errors and definite or indirect leaks fail;
# contrib/valgrind.supp holds suppressions for libraries only, each with its reason.
# Left out: batch/a_producer_faster_than_the_table_is_blocked_at_the_memory_bound, which pushes
# 80 MB of items through a polling loop and outlasts its 300 s timeout under valgrind; the asan
# stage runs it.
valgrind_filter='!(batch/a_producer_faster_than_the_table_is_blocked_at_the_memory_bound)'
stage_valgrind() {
  [[ -d build/tests ]] || build build || return 1
  local logs=build/valgrind
  rm -rf "$logs"
  mkdir -p "$logs"
  echo "test: valgrind memcheck on the unit tests (logs in $logs/)"
  local failed=0 exe name
  # shellcheck disable=SC2016  # expanded by the inner shell
  # Criterion ignores the exit status valgrind gives a test's process, so any report in a log
  # (valgrind --quiet writes nothing else) fails the executable too.
  find build/tests -maxdepth 1 -type f -name 'unit_*' -perm -u+x | sort |
    xargs -P2 -I{} sh -c 'name=$(basename "$1"); ok=1; \
      valgrind --quiet --error-exitcode=99 --trace-children=yes --leak-check=full \
        --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
        --suppressions=contrib/valgrind.supp --log-file="$2/$name.%p.log" \
        "$1" --verbose=0 -j1 --filter "$3" >"$2/$name.out" 2>&1 || ok=0; \
      for f in "$2/$name".*.log; do [ -s "$f" ] && ok=0; done; \
      if [ $ok = 1 ]; then echo "  $name: passed"; else echo "  $name: FAILED (see $2/$name.*)"; fi' \
      _ {} "$logs" "$valgrind_filter" |
    tee "$logs/summary"
  for exe in $(grep -o '^  [a-z_]*: FAILED' "$logs/summary" | awk '{ print $1 }' | tr -d :); do
    failed=1
    for name in "$logs/$exe".*.log; do
      [[ -s $name ]] && sed 's/^/    /' "$name" | head -60
    done
    tail -20 "$logs/$exe.out" | sed 's/^/    /'
  done
  return "$failed"
}

stage_fuzz() {
  CC=clang build build-fuzz -DDDBFS_FUZZ=ON -DDDBFS_TESTS=OFF \
    -DDDBFS_FUZZ_SECONDS="${DDBFS_FUZZ_SECONDS:-20}" || return 1
  echo "test: fuzz targets in build-fuzz/"
  set +e
  ctest --test-dir build-fuzz -L fuzz --output-on-failure -j2 </dev/null 2>&1 | tee build-fuzz/ctest.out
  local status=${PIPESTATUS[0]}
  set -e
  grep -hE '^(Done [0-9]+ runs|stat::number_of_executed_units)' build-fuzz/Testing/Temporary/LastTest.log |
    sed 's/^/  /' || true
  return "$status"
}

results=()
overall=0
for s in $stages; do
  start=$SECONDS
  echo "test: === stage $s ==="
  if "stage_$s" "$@"; then
    results+=("$s passed ($((SECONDS - start)) s)")
  else
    results+=("$s FAILED ($((SECONDS - start)) s)")
    overall=1
  fi
done
summary=$(printf '%s, ' "${results[@]}")
if [[ $overall == 0 ]]; then
  echo "test: PASSED: ${summary%, }"
else
  echo "test: FAILED: ${summary%, }"
fi
exit "$overall"
