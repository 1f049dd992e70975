#!/usr/bin/env bash
# Installs what is missing, builds otlpd (Release) and runs it. Arguments go to otlpd;
# without any it runs its embedded default configuration (OTLP/gRPC on localhost:4317,
# console exporter). Example: ./scripts/run.sh --config examples/file.yaml
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DOTLPD_BUILD_TESTS=OFF >/dev/null
ninja -C build-release otlpd
exec ./build-release/app/otlpd "$@"
