#!/usr/bin/env bash
# Installs everything needed to build and test ddbfs on Debian 12: the Debian packages (with
# apt-get, as root or through sudo) and the pinned test servers of tests/package-lock.json (with
# npm ci, into tests/node_modules). Idempotent and non-interactive; when everything is already
# present it touches neither apt nor the network.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

packages=(
  build-essential cmake pkg-config
  libfuse3-dev fuse3 libcurl4-openssl-dev libjansson-dev libssl-dev zlib1g-dev
  libcriterion-dev valgrind
  clang libclang-rt-14-dev
  rsync s3fs awscli curl ca-certificates
  openssl stunnel4
  groff-base man-db mount
  gnuplot-nox
)

step() { printf 'install-deps: %s\n' "$*"; }
fail() {
  printf 'install-deps: %s\n' "$*" >&2
  exit 1
}

log=$(mktemp "${TMPDIR:-/tmp}/ddbfs-install-deps.XXXXXX")
trap 'rm -f "$log"' EXIT

# Runs "$@", its output kept in $log and shown only if it fails.
quietly() {
  if ! "$@" </dev/null >"$log" 2>&1; then
    cat "$log" >&2
    fail "failed: $*"
  fi
}

# The prefix that runs a command as root: nothing, or sudo (which must not ask for a password).
as_root=()
if [[ $(id -u) != 0 ]]; then
  as_root=(sudo -n env DEBIAN_FRONTEND=noninteractive)
fi

installed() {
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) == installed ]]
}

# 1. Debian packages.
if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  fail "this script needs Debian (dpkg and apt-get)"
fi
missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi
if [[ ${#missing[@]} -eq 0 ]]; then
  step "Debian packages: all ${#packages[@]} present, node $(node --version)"
else
  step "Debian packages: installing ${missing[*]}"
  if [[ ${#as_root[@]} -gt 0 ]] && ! command -v sudo >/dev/null 2>&1; then
    fail "not root and sudo is not installed: run this script as root"
  fi
  apt_opts=(-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef
            -o Dpkg::Options::=--force-confold)
  quietly "${as_root[@]}" apt-get "${apt_opts[@]}" update
  quietly "${as_root[@]}" apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}"
  step "Debian packages: installed, node $(node --version)"
fi

# 2. The pinned test servers (dynalite, s3rver) and the benchmarks' AWS SDK for JavaScript. npm ci
#    starts from an empty node_modules, so a stamp holding the lock file's hash and the node version
#    says whether it is up to date.
cd "$root/tests"
[[ -f package-lock.json ]] || fail "tests/package-lock.json is missing"
want="$(sha256sum package-lock.json | cut -d' ' -f1) node-$(node --version)"
stamp=node_modules/.ddbfs-lock-hash
if [[ -f $stamp && $(<"$stamp") == "$want" && -d node_modules/dynalite && -d node_modules/s3rver &&
      -d node_modules/@aws-sdk/client-dynamodb ]]; then
  step "test servers: tests/node_modules is up to date"
else
  step "test servers: npm ci in tests/ (dynalite, s3rver, @aws-sdk/client-dynamodb)"
  quietly npm ci --no-audit --no-fund
  printf '%s\n' "$want" >"$stamp"
  step "test servers: installed dynalite $(node -p 'require("dynalite/package.json").version'), s3rver $(node -p 'require("s3rver/package.json").version')"
fi
