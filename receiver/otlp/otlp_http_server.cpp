#include "receiver/otlp/otlp_http_server.h"

#include "receiver/otlp/otlp_http_handler.h"

namespace otlpd {

OtlpHttpServer::OtlpHttpServer(OtlpHttpConfig config, SignalConsumers consumers, ReceiverCounters* counters,
                               std::shared_ptr<spdlog::logger> logger, TcpListener::OnAcceptState on_accept_state)
    : config_(std::move(config)) {
  // The handler keeps a reference to config_, which lives as long as this server.
  auto handler = std::make_shared<OtlpHttpHandler>(config_, consumers, counters, logger);
  HttpServerOptions options;
  options.name = "OTLP/HTTP receiver";
  options.endpoint = config_.endpoint;
  options.tls = config_.tls;
  options.max_request_body_size = static_cast<std::uint64_t>(config_.max_request_body_size);
  options.read_timeout = config_.read_timeout;
  options.idle_timeout = config_.idle_timeout;
  options.handler_threads = static_cast<unsigned>(config_.handler_threads);
  options.on_accept_state = std::move(on_accept_state);
  server_ = std::make_unique<HttpServer>(
      std::move(options), [handler](HttpRequest& request, std::string* out) { handler->handle(request, out); },
      std::move(logger));
}

OtlpHttpServer::~OtlpHttpServer() { shutdown(); }

bool OtlpHttpServer::start(std::string* error) { return server_->start(error); }

void OtlpHttpServer::shutdown() noexcept { server_->shutdown(); }

}  // namespace otlpd
