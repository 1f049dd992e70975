#pragma once

#include <memory>
#include <string>
#include <thread>

#include <spdlog/logger.h>

#include "pipeline/component.h"
#include "receiver/otlp/otlp_grpc_server.h"
#include "receiver/otlp/otlp_receiver_config.h"

namespace otlpd {

// OTLP/HTTP: POST /v1/traces, /v1/metrics, /v1/logs with application/x-protobuf or
// application/json bodies (gzip, deflate or zstd encoded or not), CORS for browsers, on standalone Asio with http-parser doing the HTTP/1.1
// parsing; keep-alive and pipelining. Answers 200 with an empty Export*ServiceResponse,
// 400 (malformed, with a google.rpc.Status body), 404, 405, 413 (over max_request_body_size,
// after decompression too), 415, 503 + Retry-After when the pipeline is full. A connection
// idle for 30 s in the middle of a request is closed. One thread serves every connection.
// Not yet: TLS.
class OtlpHttpServer {
 public:
  OtlpHttpServer(OtlpHttpConfig config, SignalConsumers consumers, ReceiverCounters* counters,
                 std::shared_ptr<spdlog::logger> logger);
  ~OtlpHttpServer();

  bool start(std::string* error);
  // Stops accepting, lets the request being handled finish, closes connections, joins.
  void shutdown() noexcept;
  int bound_port() const { return bound_port_; }

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
  int bound_port_ = 0;
};

}  // namespace otlpd
