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
  libconcurrentqueue-dev libsimdjson-dev libhttp-parser-dev zlib1g-dev libzstd-dev libcurl4-openssl-dev
  libthrift-dev thrift-compiler zstd libssl-dev openssl
  clang libclang-rt-14-dev
  python3 python3-venv
)

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

if [ "${1:-}" = "--python" ]; then
  VENV=.venv
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  if ! cmp -s requirements-test.txt "$VENV/.requirements-installed" 2>/dev/null; then
    "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements-test.txt
    cp requirements-test.txt "$VENV/.requirements-installed"
  fi
fi
