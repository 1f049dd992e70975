#include "receiver/otlp/otlp_http_handler.h"

#include <fmt/format.h>

#include "compression/decompress.h"
#include "json/json_writer.h"
#include "google/rpc/status.pb.h"
#include "receiver/otlp/ingest.h"

namespace otlpd {
namespace {

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
  // Decompressed here, never by the parser: an encoding otlpd does not know is refused.
  const std::string& encoding_name = request.header("content-encoding");
  const std::optional<Encoding> encoding = parse_encoding(encoding_name);
  if (!encoding) {
    return reply.error(415, 3, fmt::format("unsupported content encoding '{}' (accepted: {})", encoding_name,
                                           kAcceptedEncodings));
  }
  auto bytes = std::make_shared<std::string>();
  if (*encoding == Encoding::identity) {
    *bytes = std::move(request.body);
  } else {
    const Decompressed d = decompress(*encoding, request.body, static_cast<std::size_t>(config_.max_request_body_size), bytes.get());
    request.body = std::string();  // the compressed body is not needed any more
    switch (d.code) {
      case Decompressed::Code::ok: break;
      case Decompressed::Code::invalid:
        return reply.error(400, 3, fmt::format("the body is not valid {} data: {}", encoding_name, d.error));
      case Decompressed::Code::too_large:
        return reply.error(413, 8, fmt::format("decompressed body larger than max_request_body_size ({} bytes)",
                                               config_.max_request_body_size));
    }
  }
  Consumer& consumer = *consumer_for(consumers_, *signal);
  ConsumeResult r =
      reply.json ? ingest_json(*signal, *bytes, consumer, *counters_, *logger_)
                 : ingest(*signal, WireBytes{reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size(), bytes},
                          consumer, *counters_, *logger_);
  // A persistent queue still syncing: this handler thread waits for the disk (the others go on).
  if (r.pending) r = r.pending->wait();
  switch (r.code) {
    // The response uses the request's encoding: an empty Export*ServiceResponse.
    case ConsumeResult::Code::ok:
      return reply.json ? reply.send(200, "application/json", "{}") : reply.send(200, "application/x-protobuf", "");
    case ConsumeResult::Code::retryable: return reply.error(503, 14, r.message, "Retry-After: 1\r\n");
    case ConsumeResult::Code::too_large: return reply.error(413, 8, r.message);
    case ConsumeResult::Code::invalid:
    case ConsumeResult::Code::permanent: return reply.error(400, 3, r.message);
  }
}

}  // namespace otlpd
