// Micro benchmarks of the per-request work on otlpd's data path: protobuf decode (into an
// arena, with id validation) and the JSON encoders of the file and console exporters.
// Run: ./build/bench/otlpd_micro_bench   (see README "Benchmarks")
#include <benchmark/benchmark.h>

#include <random>

#include "exporters/common/otlp_json.h"
#include "exporters/common/otlp_json_transcoder.h"
#include "exporters/console/pretty_json.h"
#include "pipeline/otlp_json_decoder.h"
#include "pipeline/telemetry.h"
#include "pipeline/wire_scan.h"

namespace otlpd {
namespace {

// A request of `spans` spans with `attributes` string/int attributes each, shaped like what
// an instrumented web service sends (one resource, one scope).
std::string make_request(int spans, int attributes) {
  otlp::TracesRequest req;
  auto* rs = req.add_resource_spans();
  auto* kv = rs->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("todo");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("opentelemetry.instrumentation.flask");
  std::mt19937_64 rng(1);
  for (int i = 0; i < spans; ++i) {
    auto* span = ss->add_spans();
    std::string trace_id(16, '\0'), span_id(8, '\0');
    for (auto& c : trace_id) c = static_cast<char>(rng());
    for (auto& c : span_id) c = static_cast<char>(rng());
    span->set_trace_id(trace_id);
    span->set_span_id(span_id);
    span->set_name("GET /tasks");
    span->set_kind(opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER);
    span->set_start_time_unix_nano(1700000000000000000ULL + static_cast<std::uint64_t>(i));
    span->set_end_time_unix_nano(1700000000001000000ULL + static_cast<std::uint64_t>(i));
    for (int a = 0; a < attributes; ++a) {
      auto* attr = span->add_attributes();
      attr->set_key("attribute." + std::to_string(a));
      if (a % 2) attr->mutable_value()->set_int_value(a * 1000);
      else attr->mutable_value()->set_string_value("value-of-attribute-" + std::to_string(a));
    }
  }
  return req.SerializeAsString();
}

void BM_Decode(benchmark::State& state) {
  const std::string bytes = make_request(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  std::string error;
  for (auto _ : state) {
    auto request = Request::decode(Signal::traces, bytes.data(), bytes.size(), &error);
    benchmark::DoNotOptimize(request);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
  state.counters["spans/s"] = benchmark::Counter(static_cast<double>(state.iterations() * state.range(0)),
                                                 benchmark::Counter::kIsRate);
  state.counters["bytes/span"] = static_cast<double>(bytes.size()) / static_cast<double>(state.range(0));
}
BENCHMARK(BM_Decode)->Args({100, 2})->Args({100, 10})->Args({1000, 10});

// What the receiver does per request now: scan the wire format (validate, count spans),
// without decoding.
void BM_Scan(benchmark::State& state) {
  const std::string bytes = make_request(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  for (auto _ : state) {
    WireScan scan = scan_request(Signal::traces, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    benchmark::DoNotOptimize(scan);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
  state.counters["spans/s"] = benchmark::Counter(static_cast<double>(state.iterations() * state.range(0)),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Scan)->Args({100, 2})->Args({100, 10});

// OTLP/HTTP with application/json: OTLP/JSON text (as the transcoder writes it) to a request.
void BM_DecodeOtlpJson(benchmark::State& state) {
  const std::string bytes = make_request(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  std::string json;
  transcode_otlp_json(json, Signal::traces, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  std::string error;
  for (auto _ : state) {
    auto request = decode_otlp_json(Signal::traces, json, &error);
    benchmark::DoNotOptimize(request);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(json.size()));
  state.counters["spans/s"] = benchmark::Counter(static_cast<double>(state.iterations() * state.range(0)),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeOtlpJson)->Args({100, 10});

template <void (*Encode)(std::string&, const Batch&)>
void BM_Encode(benchmark::State& state) {
  const std::string bytes = make_request(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  std::string error;
  const Batch batch = Batch::of(Request::decode(Signal::traces, bytes.data(), bytes.size(), &error));
  std::string out;
  for (auto _ : state) {
    out.clear();
    Encode(out, batch);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
  state.counters["spans/s"] = benchmark::Counter(static_cast<double>(state.iterations() * state.range(0)),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Encode<append_otlp_json_lines>)->Name("BM_EncodeOtlpJson")->Args({100, 10});

// What the file exporter does now: OTLP/JSON straight from the received bytes.
void BM_TranscodeOtlpJson(benchmark::State& state) {
  const std::string bytes = make_request(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  std::string out;
  for (auto _ : state) {
    out.clear();
    transcode_otlp_json(out, Signal::traces, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
  state.counters["input_MB/s"] = benchmark::Counter(static_cast<double>(state.iterations() * bytes.size()) / 1e6,
                                                    benchmark::Counter::kIsRate);
  state.counters["spans/s"] = benchmark::Counter(static_cast<double>(state.iterations() * state.range(0)),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TranscodeOtlpJson)->Args({100, 10});
BENCHMARK(BM_Encode<append_pretty_json>)->Name("BM_EncodePrettyJson")->Args({100, 10});

}  // namespace
}  // namespace otlpd


