#pragma once

#include <string>
#include <string_view>

#include "tracestore/trace_store.h"
#include "net/http_request_reader.h"

namespace otlpd {

// Jaeger's query API over a TraceStore, with Jaeger's envelope
// {"data":..,"total":N,"limit":0,"offset":0,"errors":null} and shapes (FACTS.md):
//   GET /api/services
//   GET /api/services/{service}/operations
//   GET /api/operations?service=&spanKind=
//   GET /api/traces?service=&operation=&tags={json}&tag=k:v&start=µs&end=µs&lookback=1h
//                   &limit=&minDuration=1.2ms&maxDuration=1s
//   GET /api/traces/{traceID}
//   GET /api/dependencies?endTs=ms&lookback=ms
// and the built-in web viewer (one page, compiled into the binary) on every other GET path.
class QueryApi {
 public:
  QueryApi(const TraceStore& store, std::string_view viewer_html) : store_(store), viewer_(viewer_html) {}

  void handle(HttpRequest& request, std::string* out) const;

  // One stored trace in Jaeger's JSON shape (exposed for tests and benchmarks).
  static void write_trace(std::string& out, const StoredTrace& trace);

 private:
  const TraceStore& store_;  // held (shared_ptr) by the jaeger_query extension that owns this
  std::string_view viewer_;
};

// Go-style durations as Jaeger takes them ("1.5s", "100ms", "250us", "1m30s"), in µs.
bool parse_duration_us(std::string_view text, std::int64_t* us);

}  // namespace otlpd
