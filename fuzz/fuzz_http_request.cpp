// libFuzzer target: the OTLP/HTTP request path without the socket: bytes as they arrive on a
// connection (split into reads at a point the input chooses) through the HTTP/1.1 reader
// (http-parser), then routing, decompression by compression/ (gzip, zlib/deflate, zstd, snappy,
// x-snappy-framed, lz4: the seeds carry each Content-Encoding), protobuf or JSON decoding and the
// response. Nothing may crash, leak or hang; every request gets a complete response.
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "net/http_request_reader.h"
#include "receiver/otlp/otlp_http_handler.h"

using namespace otlpd;

namespace {

// Takes everything, decoding it as an exporter would.
class DecodingSink final : public Consumer {
 public:
  ConsumeResult consume(Batch&& batch) noexcept override {
    for (const auto& request : batch.requests) {
      if (request->message().ByteSizeLong() > 2 * request->wire().size() + 1024 && !request->wire().empty()) {
        std::abort();  // a scanned request decodes to what was scanned
      }
    }
    return ConsumeResult::ok();
  }
};

struct Fixture {
  Fixture() {
    config.max_request_body_size = 64 * 1024;
    config.cors.allowed_origins = {"https://*.example.com"};
    config.cors.allowed_headers = {"X-Custom"};
    config.cors.max_age = 60;
    // The handler must serve the signals: an empty protobuf request is answered 200. (It keeps a
    // copy of `consumers`, made when it is constructed: set before, every request was a 404.)
    HttpRequest probe;
    probe.method = HTTP_POST;
    probe.url = "/v1/traces";
    probe.headers["content-type"] = "application/x-protobuf";
    std::string out;
    handler.handle(probe, &out);
    if (out.rfind("HTTP/1.1 200 ", 0) != 0) std::abort();
  }
  OtlpHttpConfig config;  // the handler holds a reference: set in the constructor's body
  DecodingSink sink;
  SignalConsumers consumers{&sink, &sink, &sink};
  ReceiverCounters counters;
  std::shared_ptr<spdlog::logger> logger = std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
  OtlpHttpHandler handler{config, consumers, &counters, logger};
};

bool starts_with_status_line(const std::string& s, std::size_t at) { return s.compare(at, 9, "HTTP/1.1 ") == 0; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  if (size < 2) return 0;
  const std::size_t split = 1 + data[0] * (size - 1) / 256;  // where the first read ends
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const std::size_t n = size - 1;

  HttpRequestReader reader(static_cast<std::size_t>(fixture.config.max_request_body_size));
  std::string output, error;
  std::size_t requests = 0;
  const HttpRequestReader::OnRequest on_request = [&](HttpRequest& request) {
    const std::size_t before = output.size();
    fixture.handler.handle(request, &output);
    if (!starts_with_status_line(output, before)) std::abort();  // every request is answered
    ++requests;
  };
  bool ok = reader.feed(bytes, std::min(split, n), on_request, &output, &error);
  if (ok && split < n) ok = reader.feed(bytes + split, n - split, on_request, &output, &error);
  if (!ok) {
    if (error.empty()) std::abort();
    write_http_response(&output, 400, "text/plain", error, false);
  }
  if (requests > 0 && output.empty()) std::abort();
  return 0;
}
