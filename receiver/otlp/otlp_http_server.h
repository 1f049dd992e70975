#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "net/http_server.h"
#include "net/tcp_listener.h"
#include "pipeline/component.h"
#include "receiver/otlp/receiver_counters.h"
#include "receiver/otlp/otlp_receiver_config.h"

namespace otlpd {

// OTLP/HTTP: the generic HTTP server (net/http_server.h: Asio, TLS, timeouts) answering with
// OtlpHttpHandler (routing, decompression, decoding, the pipeline, OTLP responses).
class OtlpHttpServer {
 public:
  OtlpHttpServer(OtlpHttpConfig config, SignalConsumers consumers, ReceiverCounters* counters,
                 std::shared_ptr<spdlog::logger> logger, TcpListener::OnAcceptState on_accept_state = nullptr);
  ~OtlpHttpServer();

  bool start(std::string* error);
  void shutdown() noexcept;
  int bound_port() const { return server_->bound_port(); }

 private:
  OtlpHttpConfig config_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace otlpd
