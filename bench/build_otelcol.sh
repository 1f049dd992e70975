#!/usr/bin/env bash
# Builds the OpenTelemetry Collector v0.159.0 with the OpenTelemetry Collector Builder from the
# Go module proxy, once, and prints the binary's path on stdout (build output goes to stderr).
# Used by bench/compare_otelcol.sh, bench/compare_crash_loop.sh and scripts/interop.sh
# (tests/interop/test_otelcol_metrics.py).
# Components: the otlp receiver (grpc + http), batch, memory_limiter, the nop, debug, otlp and
# otlphttp exporters, and from contrib the health_check, healthcheckv2 and file_storage
# extensions (file_storage backs the exporters' persistent sending queue, for
# bench/crash_loop.py).
# `bench/build_otelcol.sh --minimal` builds only the otlp receiver, batch and nop (the binary
# the README's otelcol figures were measured with: fewer packages, a little less memory).
# Cache: $OTELCOL_WORK (default /tmp/otlpd-otelcol); a binary is reused while its recipe
# (the component list) is unchanged. Needs Go.
set -euo pipefail
VERSION=v0.159.0
CONFMAP=v1.65.0    # the confmap providers released with $VERSION (collector's stable modules)
CONTRIB=v0.159.0   # the contrib release matching $VERSION
WORK=${OTELCOL_WORK:-/tmp/otlpd-otelcol}
MINIMAL=false
case ${1:-} in
  --minimal) MINIMAL=true ;;
  "") ;;
  *) echo "usage: $0 [--minimal]" >&2; exit 2 ;;
esac
DIST=otelcol-otlpd
$MINIMAL && DIST=otelcol-bench
BIN=$WORK/$DIST/$DIST
mkdir -p "$WORK"
# GOSUMDB=off: the checksum database is not reachable from every build machine; modules still
# come from the Go module proxy only.
export GOSUMDB=off GOFLAGS=-mod=mod
core=go.opentelemetry.io/collector
contrib=github.com/open-telemetry/opentelemetry-collector-contrib
if $MINIMAL; then
  components=$(cat <<YAML
receivers:
  - gomod: $core/receiver/otlpreceiver $VERSION
processors:
  - gomod: $core/processor/batchprocessor $VERSION
exporters:
  - gomod: $core/exporter/nopexporter $VERSION
YAML
)
else
  components=$(cat <<YAML
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
  - gomod: $contrib/extension/storage/filestorage $CONTRIB
YAML
)
fi
recipe=$(cat <<YAML
dist: {name: $DIST, output_path: $WORK/$DIST}
$components
providers:
  - gomod: $core/confmap/provider/fileprovider $CONFMAP
  - gomod: $core/confmap/provider/envprovider $CONFMAP
  - gomod: $core/confmap/provider/yamlprovider $CONFMAP
YAML
)
if [ -x "$BIN" ] && [ -f "$WORK/$DIST.ocb.yaml" ] && [ "$(cat "$WORK/$DIST.ocb.yaml")" = "$recipe" ]; then
  echo "$BIN"
  exit 0
fi
start=$(date +%s)
if [ ! -x "$WORK/bin/builder" ]; then
  GOBIN="$WORK/bin" go install "$core/cmd/builder@$VERSION" >&2
fi
printf '%s\n' "$recipe" > "$WORK/$DIST.ocb.yaml.new"
"$WORK/bin/builder" --config "$WORK/$DIST.ocb.yaml.new" >&2
mv "$WORK/$DIST.ocb.yaml.new" "$WORK/$DIST.ocb.yaml"
echo "built $BIN in $(( $(date +%s) - start )) s" >&2
echo "$BIN"
