// Benchmarks of the trace_store exporter: ingestion (decode, Jaeger mapping, indexing) and
// search over a full store of 100 000 traces, the sizes issue 7 names.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <random>

#include "extensions/jaeger_query/query_api.h"
#include "loadgen/requests.h"
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

// Ingestion as at saturation with distinct traces (bench/run.sh sat_store_8k), timed apart
// from the receiver's part: batches of 82 requests (the batch processor's 8192 spans) are
// copied into fresh buffers, as received, and then added to a 256 MiB store, so their bytes
// are no longer in the core's cache and the store evicts as it goes. Every batch's traces are
// new (the trace ids' first bytes are a counter). Reported per span.
void BM_TraceStoreIngestDistinct(benchmark::State& state) {
  TraceStore store(100'000, std::size_t{256} << 20);
  std::mt19937_64 rng(7);
  std::vector<std::string> templates;
  // What bench/run.sh's saturation scenarios send: 100 spans of 560 bytes, 10 attributes.
  for (int i = 0; i < 64; ++i) templates.push_back(loadgen::trace_request(rng, {100, 10, 560}));
  // Where each template's spans' trace ids are in its bytes.
  std::vector<std::vector<std::size_t>> id_offsets(templates.size());
  for (std::size_t t = 0; t < templates.size(); ++t) {
    otlp::TracesRequest parsed;
    parsed.ParseFromString(templates[t]);
    std::size_t from = 0;  // (a trace's ten spans hold its id ten times: each is rewritten)
    for (const auto& span : parsed.resource_spans(0).scope_spans(0).spans()) {
      const std::size_t at = templates[t].find(span.trace_id(), from);
      if (at == std::string::npos) {
        state.SkipWithError("a span's trace id is not in its request's bytes");
        return;
      }
      id_offsets[t].push_back(at);
      from = at + span.trace_id().size();
    }
  }
  std::uint64_t serial = 0;
  std::size_t next = 0, spans = 0;
  std::vector<RequestPtr> batch;
  std::vector<std::shared_ptr<TraceStore::Prepared>> prepared;
  const bool warm = state.range(0) == 1;
  double prepare_seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    batch.clear();
    prepared.clear();
    for (int r = 0; r < 82; ++r, ++next) {
      const std::size_t t = next % templates.size();
      auto bytes = std::make_shared<std::string>(templates[t]);
      ++serial;
      for (const std::size_t at : id_offsets[t]) std::memcpy(bytes->data() + at, &serial, sizeof serial);
      std::string error;
      batch.push_back(Request::receive(Signal::traces,
                                       WireBytes{reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size(), bytes},
                                       &error));
      if (!batch.back()) {
        state.SkipWithError(error.c_str());
        return;
      }
      if (warm) {  // as the exporter does on the receiving thread, right after the scan
        const auto t0 = std::chrono::steady_clock::now();
        prepared.push_back(TraceStore::prepare(*batch.back()));
        prepare_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      }
    }
    // Something else (the receiver) runs between receiving and storing: 32 MiB of other memory
    // walked, so the batch's bytes come from memory, not a cache.
    static std::vector<char> other(std::size_t{32} << 20);
    for (std::size_t i = 0; i < other.size(); i += 64) other[i] = static_cast<char>(i);
    benchmark::ClobberMemory();
    state.ResumeTiming();
    for (std::size_t r = 0; r < batch.size(); ++r) {
      if (warm) {
        store.add(batch[r], std::move(prepared[r]));
      } else {
        store.add(batch[r]);
      }
    }
    spans += 8200;
  }
  if (warm) state.counters["prepare ns/span (untimed)"] = prepare_seconds * 1e9 / static_cast<double>(spans);
  state.counters["ns/span"] = benchmark::Counter(static_cast<double>(spans), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["evicted"] = static_cast<double>(store.stats().evicted_traces);
  state.counters["held"] = static_cast<double>(store.stats().traces);
  // 10 when every trace is new, as they should be
  state.counters["spans/trace"] = static_cast<double>(store.stats().spans) / static_cast<double>(store.stats().traces);
}
BENCHMARK(BM_TraceStoreIngestDistinct)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(5);

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

// /api/dependencies over the same 100 000 traces (500 000 spans): every span's ids are read
// from its bytes (the store does not keep them), and its parent looked up in its trace.
void BM_TraceStoreDependencies(benchmark::State& state) {
  const TraceStore& store = full_store();
  std::size_t edges = 0;
  for (auto _ : state) {
    edges = store.dependencies(0, 0).size();
    benchmark::DoNotOptimize(edges);
  }
  state.counters["edges"] = static_cast<double>(edges);
}
BENCHMARK(BM_TraceStoreDependencies)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace otlpd
