#!/usr/bin/env bash
# Interop tests against real servers: builds Jaeger v2 and Prometheus from the Go module proxy
# (once, into .tools/) and the OpenTelemetry Collector v0.159.0 (bench/build_otelcol.sh, cached in
# /tmp/otlpd-otelcol), then runs tests/interop with the project's Python environment: otlpd's
# jaeger exporter into Jaeger, Prometheus scraping otlpd's self-telemetry, and otlpd's /metrics
# compared with otelcol's. Separate from scripts/test.sh because the builds take several
# minutes. Needs Go.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
./scripts/install-deps.sh --python
if ! cmp -s tests/interop/requirements.txt .venv/.interop-requirements-installed 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check -r tests/interop/requirements.txt
  cp tests/interop/requirements.txt .venv/.interop-requirements-installed
fi
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
# Prometheus 3.x is published on the module proxy as v0.3xx.y (3.16.0 = v0.316.0). The plain
# build has no embedded web UI (that needs the builtinassets tag and npm-built assets); the
# HTTP API, which the tests use, is complete.
PROMETHEUS_VERSION=v0.316.0
if [ ! -x "$TOOLS/prometheus" ] || [ "$(cat "$TOOLS/prometheus.version" 2>/dev/null)" != "$PROMETHEUS_VERSION" ]; then
  start=$(date +%s)
  mkdir -p "$TOOLS/prometheus-build"
  cd "$TOOLS/prometheus-build"
  [ -f go.mod ] || go mod init otlpd-prometheus-build >/dev/null
  GOSUMDB=off GOFLAGS=-mod=mod go get "github.com/prometheus/prometheus@$PROMETHEUS_VERSION"
  GOSUMDB=off GOFLAGS=-mod=mod go build -o "$TOOLS/prometheus" github.com/prometheus/prometheus/cmd/prometheus
  echo "$PROMETHEUS_VERSION" > "$TOOLS/prometheus.version"
  echo "interop: built Prometheus $PROMETHEUS_VERSION in $(( $(date +%s) - start )) s"
  cd "$ROOT"
fi
OTELCOL_BIN=$(bench/build_otelcol.sh)
cmake -S . -B build -G Ninja >/dev/null
ninja -C build otlpd
JAEGER_BIN=$TOOLS/jaeger PROMETHEUS_BIN=$TOOLS/prometheus OTELCOL_BIN=$OTELCOL_BIN OTLPD_BIN=$ROOT/build/app/otlpd \
  .venv/bin/python -m pytest -v -p no:cacheprovider tests/interop
