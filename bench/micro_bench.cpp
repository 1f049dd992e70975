// Micro benchmarks of the per-request work on otlpd's data path: protobuf scan and decode,
// OTLP/JSON decode, the OTLP/HTTP request path, and the JSON encoders of the exporters.
// Run: ./build/bench/otlpd_micro_bench   (see README "Benchmarks")
#include <benchmark/benchmark.h>

#include <fmt/format.h>
#include <spdlog/sinks/null_sink.h>
#include <zlib.h>

#include <random>

#include "compression/compress.h"
#include "otlp/json_encoder.h"
#include "otlp/json_transcoder.h"
#include "exporters/console/pretty_json.h"
#include "otlp/json_decoder.h"
#include "otlp/request.h"
#include "otlp/visit.h"
#include "otlp/wire_scan.h"
#include "net/http_request_reader.h"
#include "receiver/otlp/otlp_http_handler.h"

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

// What a processor that reads attributes pays per span (otlp/visit.h): every attribute of
// every span read from the wire bytes, against decoding the request and reading them from the
// generated classes.
void BM_VisitSpanAttributes(benchmark::State& state) {
  const std::string bytes = make_request(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  for (auto _ : state) {
    std::size_t total = 0;
    otlp::wire::visit(Signal::traces, bytes, [&](const otlp::wire::Item& item) {
      item.item.attributes([&](std::string_view key, const otlp::wire::Value& value) {
        total += key.size() + value.text.size() + static_cast<std::size_t>(value.integer);
      });
    });
    benchmark::DoNotOptimize(total);
  }
  state.counters["spans/s"] = benchmark::Counter(static_cast<double>(state.iterations() * state.range(0)),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_VisitSpanAttributes)->Args({100, 10});

void BM_DecodeSpanAttributes(benchmark::State& state) {
  const std::string bytes = make_request(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  std::string error;
  for (auto _ : state) {
    auto request = Request::decode(Signal::traces, bytes.data(), bytes.size(), &error);
    std::size_t total = 0;
    for (const auto& rs : request->traces().resource_spans())
      for (const auto& ss : rs.scope_spans())
        for (const auto& span : ss.spans())
          for (const auto& kv : span.attributes())
            total += kv.key().size() + kv.value().string_value().size() + static_cast<std::size_t>(kv.value().int_value());
    benchmark::DoNotOptimize(total);
  }
  state.counters["spans/s"] = benchmark::Counter(static_cast<double>(state.iterations() * state.range(0)),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeSpanAttributes)->Args({100, 10});

// Rewriting one attribute per span (an existing one replaced in place), into new wire bytes,
// against decode, set, and encode through protobuf.
class SetOneAttribute : public otlp::wire::Editor {
 public:
  void item(const otlp::wire::Item&, otlp::wire::Edit& edit) override {
    edit.set_attribute("attribute.0", otlp::wire::Value::of_string("redacted"));
  }
};

void BM_RewriteOneAttributePerSpan(benchmark::State& state) {
  const std::string bytes = make_request(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  SetOneAttribute editor;
  std::string out;
  for (auto _ : state) {
    otlp::wire::rewrite(Signal::traces, bytes, editor, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["spans/s"] = benchmark::Counter(static_cast<double>(state.iterations() * state.range(0)),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RewriteOneAttributePerSpan)->Args({100, 10});

void BM_ProtobufOneAttributePerSpan(benchmark::State& state) {
  const std::string bytes = make_request(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  std::string out;
  for (auto _ : state) {
    google::protobuf::Arena arena;
    auto* request = google::protobuf::Arena::CreateMessage<otlp::TracesRequest>(&arena);
    request->ParseFromString(bytes);
    for (auto& rs : *request->mutable_resource_spans())
      for (auto& ss : *rs.mutable_scope_spans())
        for (auto& span : *ss.mutable_spans())
          for (auto& kv : *span.mutable_attributes())
            if (kv.key() == "attribute.0") {
              kv.mutable_value()->set_string_value("redacted");
              break;
            }
    out.clear();
    request->SerializeToString(&out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["spans/s"] = benchmark::Counter(static_cast<double>(state.iterations() * state.range(0)),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ProtobufOneAttributePerSpan)->Args({100, 10});

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
BENCHMARK(BM_DecodeOtlpJson)->Args({100, 2})->Args({100, 10})->Args({1000, 10});

// Takes every request (as a nop exporter would), so that the benchmarks below measure the
// receiver's work alone.
class Sink final : public Consumer {
 public:
  ConsumeResult consume(Batch&&) noexcept override { return ConsumeResult::ok(); }
};

// The whole OTLP/HTTP request path without the socket: HTTP/1.1 parsing (http-parser),
// routing, decompression, decoding (protobuf scan, or OTLP/JSON), handing on, the response.
// Arg 2: 0 = application/x-protobuf, 1 = application/json, 2 = protobuf + gzip.
void BM_HttpRequest(benchmark::State& state) {
  const std::string bytes = make_request(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  std::string body = bytes, type = "application/x-protobuf", encoding;
  if (state.range(2) == 1) {
    body.clear();
    transcode_otlp_json(body, Signal::traces, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    type = "application/json";
  } else if (state.range(2) == 2) {
    uLongf size = compressBound(bytes.size());
    body.resize(size);
    // zlib format with a gzip header (windowBits 31), as OTLP exporters send.
    z_stream z{};
    deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z.avail_in = static_cast<uInt>(bytes.size());
    z.next_out = reinterpret_cast<Bytef*>(body.data());
    z.avail_out = static_cast<uInt>(body.size());
    deflate(&z, Z_FINISH);
    body.resize(z.total_out);
    deflateEnd(&z);
    encoding = "Content-Encoding: gzip\r\n";
  }
  const std::string request = fmt::format(
      "POST /v1/traces HTTP/1.1\r\nHost: localhost:4318\r\nUser-Agent: OTel-OTLP-Exporter-Python/1.45.1\r\n"
      "Content-Type: {}\r\n{}Content-Length: {}\r\n\r\n",
      type, encoding, body.size()) + body;
  OtlpHttpConfig config;
  Sink sink;
  ReceiverCounters counters;
  OtlpHttpHandler handler(config, {&sink, &sink, &sink}, &counters,
                          std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>()));
  HttpRequestReader reader(static_cast<std::size_t>(config.max_request_body_size));
  std::string out, error;
  const HttpRequestReader::OnRequest on_request = [&](HttpRequest& r) { handler.handle(r, &out); };
  for (auto _ : state) {
    out.clear();
    if (!reader.feed(request.data(), request.size(), on_request, &out, &error) || !out.starts_with("HTTP/1.1 200")) {
      state.SkipWithError(("request refused: " + error + out).c_str());
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(request.size()));
  state.counters["spans/s"] = benchmark::Counter(static_cast<double>(state.iterations() * state.range(0)),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_HttpRequest)->ArgNames({"spans", "attrs", "json"})->Args({100, 10, 0})->Args({100, 10, 1})->Args({100, 10, 2});

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

// Compressing an exported batch (8000 spans x 10 attributes in one request, ~2 MB): zlib's
// deflate at level 6, as gRPC's core compresses (codec 0), against otlpd's compressors
// (compression/compress: libdeflate gzip, codec 1; zstd, codec 2) at a level. Bytes
// processed are the uncompressed bytes; "ratio" is uncompressed / compressed.
void BM_Compress(benchmark::State& state) {
  std::string batch = make_request(8000, 10);
  const int codec = static_cast<int>(state.range(0)), level = static_cast<int>(state.range(1));
  std::string out;
  for (auto _ : state) {
    out.clear();
    if (codec == 0) {
      z_stream z{};
      deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
      out.resize(deflateBound(&z, static_cast<uLong>(batch.size())));
      z.next_in = reinterpret_cast<Bytef*>(batch.data());
      z.avail_in = static_cast<uInt>(batch.size());
      z.next_out = reinterpret_cast<Bytef*>(out.data());
      z.avail_out = static_cast<uInt>(out.size());
      deflate(&z, Z_FINISH);
      out.resize(z.total_out);
      deflateEnd(&z);
    } else {
      thread_compressor({codec == 1 ? Encoding::gzip : Encoding::zstd, level}).compress(batch, &out);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * batch.size()));
  state.counters["ratio"] = static_cast<double>(batch.size()) / static_cast<double>(out.size());
}
BENCHMARK(BM_Compress)->ArgNames({"codec", "level"})->Args({0, 6})->Args({0, 1})->Args({1, 6})->Args({1, 1})
    ->Args({2, 3})->Args({2, 1});
BENCHMARK(BM_Encode<append_pretty_json>)->Name("BM_EncodePrettyJson")->Args({100, 10});

}  // namespace
}  // namespace otlpd


