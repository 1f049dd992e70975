#!/usr/bin/env bash
# Interop tests against a real Jaeger v2: builds Jaeger from the Go module proxy (once, into
# .tools/), then runs tests/interop with the project's Python environment. Separate from
# scripts/test.sh because building Jaeger takes several minutes. Needs Go.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
./scripts/install-deps.sh --python
JAEGER_VERSION=v1.76.0   # the jaeger module release that carries Jaeger v2's cmd/jaeger
TOOLS=$ROOT/.tools
if [ ! -x "$TOOLS/jaeger" ]; then
  mkdir -p "$TOOLS/jaeger-build"
  cd "$TOOLS/jaeger-build"
  [ -f go.mod ] || go mod init otlpd-jaeger-build >/dev/null
  # GOSUMDB=off: the checksum database is not reachable from every build machine; modules
  # still come from the Go module proxy only.
  GOSUMDB=off GOFLAGS=-mod=mod go get "github.com/jaegertracing/jaeger@$JAEGER_VERSION"
  GOSUMDB=off GOFLAGS=-mod=mod go build -o "$TOOLS/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger
  cd "$ROOT"
fi
cmake -S . -B build -G Ninja >/dev/null
ninja -C build otlpd
JAEGER_BIN=$TOOLS/jaeger OTLPD_BIN=$ROOT/build/app/otlpd \
  .venv/bin/python -m pytest -v -p no:cacheprovider tests/interop
