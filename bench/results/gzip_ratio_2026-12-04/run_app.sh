#!/bin/bash
# Runs the demo To-Do app (demo/todo/app.py) under opentelemetry-instrument, traces -> capture server.
cd "$(dirname "$0")"
export OTEL_SERVICE_NAME=todo
export OTEL_TRACES_EXPORTER=otlp OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none
export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:47101 OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_EXPORTER_OTLP_INSECURE=true
export OTEL_BSP_SCHEDULE_DELAY=500 OTEL_BSP_MAX_EXPORT_BATCH_SIZE=512 OTEL_BSP_MAX_QUEUE_SIZE=8192
export TODO_PORT=47102 TODO_HOST=127.0.0.1 TODO_DATABASE=/tmp/gzreal/todo.db
exec /work/main/demo/todo/.venv/bin/opentelemetry-instrument /work/main/demo/todo/.venv/bin/python /work/main/demo/todo/app.py
