#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "pipeline/component.h"
#include "net/http_request_reader.h"
#include "net/http_server.h"
#include "receiver/otlp/receiver_counters.h"
#include "receiver/otlp/otlp_receiver_config.h"

namespace otlpd {

// What OTLP/HTTP means, apart from the connection: routes POST /v1/traces, /v1/metrics and
// /v1/logs (or the configured *_url_path), decompresses (gzip, deflate, zstd; the size limit
// applies after decompression too), decodes application/x-protobuf or application/json, hands
// the request to the pipeline and writes the response in the request's encoding: 200 with an
// empty Export*ServiceResponse, or 400/404/405/413/415/503 (+ Retry-After) with a
// google.rpc.Status body; CORS headers and preflights for browsers. Thread-safe: the
// server's handler threads call it concurrently (it holds no state of its own; the counters
// are atomic, the consumers thread-safe).
class OtlpHttpHandler {
 public:
  OtlpHttpHandler(const OtlpHttpConfig& config, SignalConsumers consumers, ReceiverCounters* counters,
                  std::shared_ptr<spdlog::logger> logger);

  // Appends the whole HTTP/1.1 response to *out. The request's body may be moved from.
  void handle(HttpRequest& request, std::string* out);

 private:
  const OtlpHttpConfig& config_;
  SignalConsumers consumers_;  // pipeline entries: owned by the Service, which stops receivers first
  ReceiverCounters* counters_;  // owned by the OtlpReceiver, which outlives its HTTP server
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace otlpd
