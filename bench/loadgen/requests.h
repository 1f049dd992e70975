// The load generator's requests, shared with the micro benchmarks that model what it sends
// (bench/trace_store_bench.cpp): one resource (service.name=loadgen) and one scope, `records`
// spans or log records with ten per trace, `attributes` attributes each, padded to about
// `record_bytes` bytes of protobuf (0: no padding).
#pragma once

#include <random>
#include <string>

namespace otlpd::loadgen {

struct RequestShape {
  int records = 100;
  int attributes = 3;
  int record_bytes = 0;
};

// An ExportTraceServiceRequest, serialized.
std::string trace_request(std::mt19937_64& rng, const RequestShape& shape);

// An ExportLogsServiceRequest, serialized: each record has a timestamp and an observed
// timestamp, a severity (number and text), a string body (the padding goes there) and the trace
// and span ids of the span it was logged in.
std::string log_request(std::mt19937_64& rng, const RequestShape& shape);

}  // namespace otlpd::loadgen
