#pragma once

namespace otlpd {

// What otlpd runs with when no --config is given: OTLP/gRPC on localhost:4317 for every
// signal, printed to the console in the Python SDK's JSON shape.
inline constexpr const char* kDefaultConfig = R"(receivers:
  otlp:
    protocols:
      grpc:
        endpoint: localhost:4317
exporters:
  console:
    format: pretty
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [console]
    metrics:
      receivers: [otlp]
      exporters: [console]
    logs:
      receivers: [otlp]
      exporters: [console]
)";

}  // namespace otlpd
