#!/usr/bin/env bash
# The To-Do demo in one command: builds otlpd, installs the demo's Python environment, starts
# otlpd with demo/otlpd-demo.yaml (OTLP on 0.0.0.0:4317 and 0.0.0.0:4318, console and file
# exporters) and the Flask To-Do app under opentelemetry-instrument on http://localhost:5000.
# Ctrl+C stops both: the app first (its SDK flushes what it holds), then otlpd (it drains).
#
# The traces can then be searched and looked at on http://localhost:16686 (otlpd's viewer).
#
# Environment: DEMO_APP_PORT (5000), DEMO_GRPC_PORT (4317), DEMO_HTTP_PORT (4318),
# DEMO_VIEWER_PORT (16686), DEMO_METRICS_PORT (8888), DEMO_HEALTH_PORT (13133), DEMO_OUTPUT_DIR
# (demo/output), OTLPD_BIN (an otlpd binary to use instead of building one).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export DEMO_APP_PORT=${DEMO_APP_PORT:-5000} DEMO_GRPC_PORT=${DEMO_GRPC_PORT:-4317} DEMO_HTTP_PORT=${DEMO_HTTP_PORT:-4318}
export DEMO_VIEWER_PORT=${DEMO_VIEWER_PORT:-16686} DEMO_METRICS_PORT=${DEMO_METRICS_PORT:-8888}
export DEMO_HEALTH_PORT=${DEMO_HEALTH_PORT:-13133}
export DEMO_OUTPUT_DIR=${DEMO_OUTPUT_DIR:-$ROOT/demo/output}

./scripts/install-deps.sh --demo
if [ -z "${OTLPD_BIN:-}" ]; then
  cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DOTLPD_BUILD_TESTS=OFF >/dev/null
  ninja -C build-release otlpd >/dev/null
  OTLPD_BIN=$ROOT/build-release/app/otlpd
fi
mkdir -p "$DEMO_OUTPUT_DIR"

# otlpd in a session of its own: Ctrl+C reaches the app (and this script) only, so that otlpd
# is still there to receive the app's last export and is stopped after it.
setsid "$OTLPD_BIN" --config demo/otlpd-demo.yaml &
OTLPD_PID=$!
stop_otlpd() {
  if kill -0 "$OTLPD_PID" 2>/dev/null; then
    kill -TERM "$OTLPD_PID"
    wait "$OTLPD_PID" || true
  fi
}
trap stop_otlpd EXIT
trap 'exit 130' INT TERM

# Wait until otlpd listens (or says why it cannot, e.g. a port already in use).
for _ in $(seq 1 100); do
  if ! kill -0 "$OTLPD_PID" 2>/dev/null; then
    echo "demo: otlpd did not start (see its error above)" >&2
    exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$DEMO_GRPC_PORT") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$DEMO_HTTP_PORT") 2>/dev/null; then
    break
  fi
  sleep 0.1
done

echo "demo: otlpd is receiving on 0.0.0.0:$DEMO_GRPC_PORT (gRPC) and 0.0.0.0:$DEMO_HTTP_PORT (HTTP);" \
     "everything it receives is printed here and written to $DEMO_OUTPUT_DIR/telemetry.jsonl" >&2
echo "demo: search and look at the traces on http://localhost:$DEMO_VIEWER_PORT (otlpd's trace viewer)" >&2
echo "demo: the To-Do app is starting on http://localhost:$DEMO_APP_PORT - open it, add and delete tasks; Ctrl+C stops both" >&2

# The app, configured the way the talk does it: OTEL_* environment variables.
export OTEL_SERVICE_NAME=todo
export OTEL_TRACES_EXPORTER=otlp OTEL_METRICS_EXPORTER=otlp OTEL_LOGS_EXPORTER=otlp
export OTEL_EXPORTER_OTLP_ENDPOINT=http://0.0.0.0:$DEMO_GRPC_PORT OTEL_EXPORTER_OTLP_PROTOCOL=grpc
export OTEL_EXPORTER_OTLP_INSECURE=true
export OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED=true
export OTEL_METRIC_EXPORT_INTERVAL=${OTEL_METRIC_EXPORT_INTERVAL:-5000}
export OTEL_BSP_SCHEDULE_DELAY=${OTEL_BSP_SCHEDULE_DELAY:-1000} OTEL_BLRP_SCHEDULE_DELAY=${OTEL_BLRP_SCHEDULE_DELAY:-1000}
export TODO_PORT=$DEMO_APP_PORT TODO_HOST=${TODO_HOST:-127.0.0.1}
# In the foreground, so that Ctrl+C (SIGINT) reaches it: Python then exits through its
# shutdown hooks, which export what the SDK still holds.
demo/todo/.venv/bin/opentelemetry-instrument demo/todo/.venv/bin/python demo/todo/app.py || true
