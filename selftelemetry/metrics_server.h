#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "net/http_server.h"
#include "selftelemetry/metrics.h"

namespace otlpd {

// Serves the registry at GET /metrics in the Prometheus text format (service::telemetry::
// metrics). Read-only: any other method is 405, any other path 404. One Asio thread.
class MetricsServer {
 public:
  MetricsServer(std::string endpoint, MetricsLevel level, PrometheusFormat format,
                std::shared_ptr<const MetricsRegistry> registry, std::shared_ptr<spdlog::logger> logger);

  bool start(std::string* error);
  void shutdown() noexcept;
  int bound_port() const { return server_.bound_port(); }

 private:
  HttpServer server_;
};

}  // namespace otlpd
