#!/usr/bin/env bash
# Side by side with the OpenTelemetry Collector: builds otelcol v0.159.0 with the OpenTelemetry
# Collector Builder from the Go module proxy (bench/build_otelcol.sh --minimal: otlp
# receiver, batch, nop only), then runs the testbed and saturation loads of bench/run.sh against
# it with the same load generator.
# Needs Go. Results: bench/results/otelcol_*.json (compare with testbed.json, sat_nop.json).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-20}
WORK=${OTELCOL_WORK:-/tmp/otlpd-otelcol}
mkdir -p "$WORK" bench/results
./scripts/install-deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DOTLPD_BUILD_TESTS=OFF >/dev/null
ninja -C build-release otlpd-loadgen >/dev/null
OTELCOL=$(bench/build_otelcol.sh --minimal)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/otelcol.yaml" <<YAML
receivers: {otlp: {protocols: {grpc: {endpoint: "127.0.0.1:$PORT"}}}}
processors: {batch: {}}
exporters: {nop: {}}
service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [otlp], processors: [batch], exporters: [nop]}}
YAML
"$OTELCOL" --config "$WORK/otelcol.yaml" 2> "$WORK/otelcol.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
sleep 2
LOADGEN=build-release/bench/otlpd-loadgen
echo "--- otelcol testbed"
$LOADGEN --endpoint "127.0.0.1:$PORT" --pid $PID --duration "$DURATION" --label otelcol_testbed \
  --json bench/results/otelcol_testbed.json --rate 10000 --spans-per-request 100 --attributes 3 --span-bytes 145 \
  --connections 1 --concurrency 1
echo "--- otelcol saturation (batch -> nop)"
$LOADGEN --endpoint "127.0.0.1:$PORT" --pid $PID --duration "$DURATION" --label otelcol_sat_nop \
  --json bench/results/otelcol_sat_nop.json --rate 0 --spans-per-request 100 --attributes 10 --span-bytes 560 \
  --connections 4 --concurrency 4
