#pragma once

#include <memory>
#include <string>
#include <thread>

#include <spdlog/logger.h>

#include "pipeline/component.h"
#include "receiver/otlp/otlp_grpc_server.h"
#include "receiver/otlp/otlp_receiver_config.h"

namespace otlpd {

// OTLP/HTTP's connections: standalone Asio, plain or TLS (OpenSSL), keep-alive and
// pipelining; HttpRequestReader (http-parser) reads the requests and OtlpHttpHandler answers
// them. A request must arrive whole within read_timeout of its first byte and an idle
// kept-alive connection is closed after idle_timeout, so slow or stuck clients cannot hold
// connections forever. One thread serves every connection.
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
