#include "receiver/otlp/otlp_http_handler.h"

#include <fmt/format.h>
#include <zlib.h>
#include <zstd.h>

#include "json/json_writer.h"
#include "google/rpc/status.pb.h"
#include "receiver/otlp/ingest.h"

namespace otlpd {
namespace {

// Inflates a gzip or zlib ("deflate") body; false if it is not one, or grows past `limit`.
enum class Inflate { ok, invalid, too_large };
Inflate inflate_body(const std::string& in, std::size_t limit, std::string* out) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) return Inflate::invalid;  // +32: gzip or zlib header
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char chunk[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return Inflate::invalid;
    }
    out->append(chunk, sizeof chunk - z.avail_out);
    if (out->size() > limit) {
      inflateEnd(&z);
      return Inflate::too_large;
    }
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {  // input ended before the stream did
      inflateEnd(&z);
      return Inflate::invalid;
    }
  }
  inflateEnd(&z);
  return Inflate::ok;
}

Inflate zstd_body(const std::string& in, std::size_t limit, std::string* out) {
  std::unique_ptr<ZSTD_DStream, decltype(&ZSTD_freeDStream)> stream(ZSTD_createDStream(), &ZSTD_freeDStream);
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  char chunk[64 * 1024];
  std::size_t rc = 1;
  while (input.pos < input.size || rc != 0) {
    ZSTD_outBuffer output{chunk, sizeof chunk, 0};
    rc = ZSTD_decompressStream(stream.get(), &output, &input);
    if (ZSTD_isError(rc)) return Inflate::invalid;
    out->append(chunk, output.pos);
    if (out->size() > limit) return Inflate::too_large;
    if (input.pos == input.size && output.pos == 0 && rc != 0) return Inflate::invalid;  // truncated
  }
  return Inflate::ok;
}

// One response being written.
struct Reply {
  std::string* out;
  bool keep_alive = true;
  bool json = false;  // the request (and so the response) is OTLP/JSON
  std::string cors;   // CORS headers for every response to this request

  void send(int status, std::string_view type, const std::string& body, const std::string& extra = "") const {
    write_http_response(out, status, type, body, keep_alive, extra + cors);
  }

  // An error answer: a google.rpc.Status in the request's encoding, as OTLP/HTTP specifies.
  // Messages may quote the request (a path, a content type); they are made valid UTF-8, which
  // a protobuf string and JSON text must be (found by fuzz/fuzz_http_request.cpp).
  void error(int status, int grpc_code, std::string message, const std::string& extra = "") const {
    message = valid_utf8(std::move(message));
    if (json) {
      std::string body = fmt::format(R"({{"code":{},"message":")", grpc_code);
      JsonWriter::escape(body, message);
      return send(status, "application/json", body + "\"}", extra);
    }
    google::rpc::Status s;
    s.set_code(grpc_code);
    s.set_message(message);
    send(status, "application/x-protobuf", s.SerializeAsString(), extra);
  }
};

}  // namespace

OtlpHttpHandler::OtlpHttpHandler(const OtlpHttpConfig& config, SignalConsumers consumers, ReceiverCounters* counters,
                                 std::shared_ptr<spdlog::logger> logger)
    : config_(config), consumers_(consumers), counters_(counters), logger_(std::move(logger)) {}

void OtlpHttpHandler::handle(HttpRequest& request, std::string* out) {
  Reply reply{out, request.keep_alive};
  const Signal* signal = nullptr;
  static constexpr Signal kSignals[3] = {Signal::traces, Signal::metrics, Signal::logs};
  const std::string path = request.url.substr(0, request.url.find('?'));
  for (std::size_t i = 0; i < 3; ++i) {
    if (path == config_.paths[i] && consumer_for(consumers_, kSignals[i])) signal = &kSignals[i];
  }
  if (!signal) return reply.error(404, 5, fmt::format("no OTLP endpoint at {}", path));

  // Access-Control-Allow-Origin for an allowed Origin (every response to it carries it).
  const std::string& origin = request.header("origin");
  if (!origin.empty() && config_.cors.origin_allowed(origin)) {
    reply.cors = fmt::format("Access-Control-Allow-Origin: {}\r\nVary: Origin\r\n", origin);
  }
  if (request.method == HTTP_OPTIONS && !origin.empty() && request.headers.count("access-control-request-method")) {
    std::string preflight;  // origin not allowed: no CORS headers, the browser refuses
    if (!reply.cors.empty()) {
      std::string allowed = "Accept, Content-Type, Content-Encoding, X-Requested-With";
      for (const auto& h : config_.cors.allowed_headers) allowed += ", " + h;
      preflight = fmt::format("Access-Control-Allow-Methods: POST\r\nAccess-Control-Allow-Headers: {}\r\n", allowed);
      if (config_.cors.max_age > 0) preflight += fmt::format("Access-Control-Max-Age: {}\r\n", config_.cors.max_age);
    }
    return reply.send(204, "text/plain", "", preflight);
  }
  if (request.method != HTTP_POST) return reply.error(405, 12, "only POST is accepted", "Allow: POST\r\n");
  const std::string& content_type = request.header("content-type");
  const std::string type = lower(content_type.substr(0, content_type.find(';')));
  reply.json = type == "application/json";
  if (!reply.json && type != "application/x-protobuf") {
    return reply.error(415, 3, fmt::format("unsupported content type '{}' (application/x-protobuf or application/json)",
                                           type));
  }
  if (request.too_large) {
    return reply.error(413, 8, fmt::format("request body larger than max_request_body_size ({} bytes)",
                                           config_.max_request_body_size));
  }
  auto bytes = std::make_shared<std::string>();
  const std::string encoding = lower(request.header("content-encoding"));
  if (encoding == "gzip" || encoding == "deflate" || encoding == "zstd") {
    const auto limit = config_.max_request_body_size;
    switch (encoding == "zstd" ? zstd_body(request.body, limit, bytes.get())
                               : inflate_body(request.body, limit, bytes.get())) {
      case Inflate::ok: break;
      case Inflate::invalid: return reply.error(400, 3, fmt::format("the body is not valid {} data", encoding));
      case Inflate::too_large:
        return reply.error(413, 8, fmt::format("decompressed body larger than max_request_body_size ({} bytes)",
                                               config_.max_request_body_size));
    }
  } else if (encoding.empty() || encoding == "identity") {
    *bytes = std::move(request.body);
  } else {
    return reply.error(415, 3, fmt::format("unsupported content encoding '{}' (gzip, deflate, zstd)", encoding));
  }
  Consumer& consumer = *consumer_for(consumers_, *signal);
  const IngestResult r =
      reply.json ? ingest_json(*signal, *bytes, consumer, *counters_, *logger_)
                 : ingest(*signal, WireBytes{reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size(), bytes},
                          consumer, *counters_, *logger_);
  switch (r.code) {
    // The response uses the request's encoding: an empty Export*ServiceResponse.
    case IngestResult::Code::ok:
      return reply.json ? reply.send(200, "application/json", "{}") : reply.send(200, "application/x-protobuf", "");
    case IngestResult::Code::retryable: return reply.error(503, 14, r.message, "Retry-After: 1\r\n");
    case IngestResult::Code::too_large: return reply.error(413, 8, r.message);
    case IngestResult::Code::invalid:
    case IngestResult::Code::permanent: return reply.error(400, 3, r.message);
  }
}

}  // namespace otlpd
