#!/usr/bin/env bash
# Installs everything otlpd needs to build and test: Debian packages (only the missing
# ones) and a Python virtual environment with the OpenTelemetry SDK for the end-to-end
# tests. Idempotent and non-interactive; safe to run on every build.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  cmake g++ ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libasio-dev libyaml-cpp-dev libfmt-dev libspdlog-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libconcurrentqueue-dev libsimdjson-dev libhttp-parser-dev libnghttp2-dev zlib1g-dev libzstd-dev libsnappy-dev liblz4-dev libcurl4-openssl-dev
  libdeflate-dev
  libthrift-dev libboost-dev thrift-compiler zstd libssl-dev openssl
  liblmdb-dev libsqlite3-dev
  clang libclang-rt-14-dev
  python3 python3-venv
  chromium
  dpkg-dev file
)
# libboost-dev: Thrift's C++ headers include boost (libthrift-dev does not depend on it).
# libdeflate-dev: CRC-32 of the persistent queue's records (several times faster than zlib's).
# liblmdb-dev, libsqlite3-dev: only bench/storage_choice_bench.cpp (the storage decision of issue 15).
# dpkg-dev, file: the Debian package (cpack -G DEB runs dpkg-shlibdeps on what `file` says is ELF).
# Node.js and npm (for the browser tests): Debian's, unless the machine already has a Node.js
# with its own npm (NodeSource's nodejs package bundles npm and conflicts with Debian's).
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --python: the test suite's virtual environment (.venv); --demo: the To-Do demo's
# (demo/todo/.venv). Each is (re)installed only when its requirements file changed.
make_venv() {  # $1: directory, $2: requirements file
  if [ ! -x "$1/bin/python" ]; then
    python3 -m venv "$1"
  fi
  if ! cmp -s "$2" "$1/.requirements-installed" 2>/dev/null; then
    "$1/bin/pip" install -q --disable-pip-version-check -r "$2"
    cp "$2" "$1/.requirements-installed"
  fi
}
for arg in "$@"; do
  case $arg in
    --python) make_venv .venv requirements-test.txt ;;
    --demo) make_venv demo/todo/.venv demo/todo/requirements.txt ;;
    --browser)
      # playwright-core (pinned in tests/browser/package-lock.json) drives Debian's chromium.
      if ! cmp -s tests/browser/package-lock.json tests/browser/node_modules/.installed-from-lock 2>/dev/null; then
        (cd tests/browser && npm ci --silent --no-audit --no-fund && cp package-lock.json node_modules/.installed-from-lock)
      fi ;;
    *) echo "install-deps: unknown option $arg (--python, --demo, --browser)" >&2; exit 2 ;;
  esac
done
