#!/usr/bin/env bash
# Builds the OpenTelemetry Collector v0.159.0 with the OpenTelemetry Collector Builder from the
# Go module proxy, once, and prints the binary's path on stdout (build output goes to stderr).
# Used by bench/compare_otelcol.sh and scripts/interop.sh (tests/interop/test_otelcol_metrics.py).
# Components: the otlp receiver (grpc + http), batch, memory_limiter, the nop, debug, otlp and
# otlphttp exporters, and from contrib the health_check and healthcheckv2 extensions.
# Cache: $OTELCOL_WORK (default /tmp/otlpd-otelcol); the binary is reused while its recipe
# (this file's component list) is unchanged. Needs Go.
set -euo pipefail
VERSION=v0.159.0
CONFMAP=v1.65.0    # the confmap providers released with $VERSION (collector's stable modules)
CONTRIB=v0.159.0   # the contrib release matching $VERSION
WORK=${OTELCOL_WORK:-/tmp/otlpd-otelcol}
DIST=otelcol-otlpd
BIN=$WORK/$DIST/$DIST
mkdir -p "$WORK"
# GOSUMDB=off: the checksum database is not reachable from every build machine; modules still
# come from the Go module proxy only.
export GOSUMDB=off GOFLAGS=-mod=mod
core=go.opentelemetry.io/collector
contrib=github.com/open-telemetry/opentelemetry-collector-contrib
recipe=$(cat <<YAML
dist: {name: $DIST, output_path: $WORK/$DIST}
receivers:
  - gomod: $core/receiver/otlpreceiver $VERSION
processors:
  - gomod: $core/processor/batchprocessor $VERSION
  - gomod: $core/processor/memorylimiterprocessor $VERSION
exporters:
  - gomod: $core/exporter/nopexporter $VERSION
  - gomod: $core/exporter/debugexporter $VERSION
  - gomod: $core/exporter/otlpexporter $VERSION
  - gomod: $core/exporter/otlphttpexporter $VERSION
extensions:
  - gomod: $contrib/extension/healthcheckextension $CONTRIB
  - gomod: $contrib/extension/healthcheckv2extension $CONTRIB
providers:
  - gomod: $core/confmap/provider/fileprovider $CONFMAP
  - gomod: $core/confmap/provider/envprovider $CONFMAP
  - gomod: $core/confmap/provider/yamlprovider $CONFMAP
YAML
)
if [ -x "$BIN" ] && [ -f "$WORK/ocb.yaml" ] && [ "$(cat "$WORK/ocb.yaml")" = "$recipe" ]; then
  echo "$BIN"
  exit 0
fi
start=$(date +%s)
if [ ! -x "$WORK/bin/builder" ]; then
  GOBIN="$WORK/bin" go install "$core/cmd/builder@$VERSION" >&2
fi
printf '%s\n' "$recipe" > "$WORK/ocb.yaml.new"
"$WORK/bin/builder" --config "$WORK/ocb.yaml.new" >&2
mv "$WORK/ocb.yaml.new" "$WORK/ocb.yaml"
echo "built $BIN in $(( $(date +%s) - start )) s" >&2
echo "$BIN"
