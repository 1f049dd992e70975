// Benchmarks of the trace_store exporter: ingestion (decode, Jaeger mapping, indexing) and
// search over a full store of 100 000 traces, the sizes issue 7 names.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <fstream>
#include <random>

#include "extensions/jaeger_query/query_api.h"
#include "tracestore/trace_store.h"

namespace otlpd {
namespace {

// `traces` traces of 5 spans each (a request and four children, like the To-Do app's), for
// services svc-0..svc-9, with http.target on the roots and a few attributes on every span.
otlp::TracesRequest make_traces(int traces, std::uint64_t seed) {
  otlp::TracesRequest req;
  std::mt19937_64 rng(seed);
  for (int s = 0; s < 10; ++s) {
    auto* rs = req.add_resource_spans();
    auto* kv = rs->mutable_resource()->add_attributes();
    kv->set_key("service.name");
    kv->mutable_value()->set_string_value("svc-" + std::to_string(s));
    auto* ss = rs->add_scope_spans();
    ss->mutable_scope()->set_name("bench");
    for (int t = s; t < traces; t += 10) {
      std::string trace_id(16, '\0');
      for (auto& c : trace_id) c = static_cast<char>(rng());
      std::string root_id(8, '\0');
      for (auto& c : root_id) c = static_cast<char>(rng());
      const std::uint64_t start = 1'700'000'000'000'000'000ULL + static_cast<std::uint64_t>(t) * 1'000'000;
      for (int i = 0; i < 5; ++i) {
        auto* span = ss->add_spans();
        span->set_trace_id(trace_id);
        if (i == 0) {
          span->set_span_id(root_id);
          span->set_name(t % 7 == 0 ? "POST /add" : "GET /");
          span->set_kind(opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER);
          auto* a = span->add_attributes();
          a->set_key("http.target");
          a->mutable_value()->set_string_value(t % 7 == 0 ? "/add" : "/");
        } else {
          std::string id(8, '\0');
          for (auto& c : id) c = static_cast<char>(rng());
          span->set_span_id(id);
          span->set_parent_span_id(root_id);
          span->set_name("querying_tasks");
        }
        span->set_start_time_unix_nano(start + static_cast<std::uint64_t>(i) * 1000);
        span->set_end_time_unix_nano(start + 500'000 + static_cast<std::uint64_t>(t % 100) * 10'000);
        for (int a = 0; a < 4; ++a) {
          auto* attr = span->add_attributes();
          attr->set_key("attr." + std::to_string(a));
          attr->mutable_value()->set_string_value("value-" + std::to_string(rng() % 1000));
        }
      }
    }
  }
  return req;
}

// A request as the receiver hands it on: wire bytes, scanned, not decoded.
RequestPtr as_request(const otlp::TracesRequest& message) {
  auto bytes = std::make_shared<std::string>(message.SerializeAsString());
  std::string error;
  return Request::receive(Signal::traces,
                          WireBytes{reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size(), bytes}, &error);
}

// Spans per second into the store (one request of 100 traces x 5 spans per iteration).
void BM_TraceStoreIngest(benchmark::State& state) {
  TraceStore store(100'000, std::size_t{1} << 30);
  // 64 distinct requests of 100 traces x 5 spans, stored over and over: as when the store is
  // fed, each iteration adds spans (to traces seen 64 iterations before) and evicts.
  std::vector<RequestPtr> requests;
  for (int i = 0; i < 64; ++i) requests.push_back(as_request(make_traces(100, static_cast<std::uint64_t>(i))));
  std::size_t i = 0;
  for (auto _ : state) store.add(requests[i++ % requests.size()]);
  state.counters["spans/s"] = benchmark::Counter(static_cast<double>(state.iterations() * 500), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TraceStoreIngest);

double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  double pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

const TraceStore& full_store() {
  static TraceStore* store = [] {
    auto* s = new TraceStore(100'000, std::size_t{4} << 30);
    for (int chunk = 0; chunk < 100; ++chunk) s->add(as_request(make_traces(1000, 100 + static_cast<std::uint64_t>(chunk))));
    return s;
  }();
  return *store;
}

// A search over 100 000 stored traces (500 000 spans). Arg: 0 = service + tag (as the viewer's
// http.target=/add), 1 = service + operation + minDuration, 2 = a tag no trace has (the
// whole store is scanned), 3 = the same with the JSON of 20 results written.
void BM_TraceStoreSearch(benchmark::State& state) {
  const TraceStore& store = full_store();
  TraceQuery q;
  q.service = "svc-3";
  q.limit = 20;
  switch (state.range(0)) {
    case 0: q.tags = {{"http.target", "/add"}}; break;
    case 1: q.operation = "GET /"; q.min_duration_us = 1400; break;
    case 2: q.tags = {{"http.target", "/nowhere"}}; break;
    case 3: q.tags = {{"http.target", "/add"}}; break;
  }
  if (store.stats().traces != 100'000) state.SkipWithError("the store does not hold 100 000 traces");
  std::size_t found = 0;
  std::string json;
  for (auto _ : state) {
    json.clear();
    found = store.find(q, [&](const StoredTrace& t) {
      if (state.range(0) == 3) QueryApi::write_trace(json, t);
    });
    benchmark::DoNotOptimize(found);
  }
  state.counters["found"] = static_cast<double>(found);
  state.counters["store_MiB"] = static_cast<double>(store.stats().bytes) / (1 << 20);  // the store's estimate
  state.counters["rss_MiB"] = rss_mib();  // the whole benchmark process, for comparison
}
BENCHMARK(BM_TraceStoreSearch)->Arg(0)->Arg(1)->Arg(2)->Arg(3)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace otlpd
