#include "selftelemetry/metrics_server.h"

namespace otlpd {

MetricsServer::MetricsServer(std::string endpoint, MetricsLevel level, PrometheusFormat format,
                             std::shared_ptr<const MetricsRegistry> registry, std::shared_ptr<spdlog::logger> logger)
    : server_(
          HttpServerOptions{.name = "self-telemetry metrics",
                            .endpoint = std::move(endpoint),
                            .max_request_body_size = 0},
          [level, format, registry = std::move(registry)](HttpRequest& request, std::string* out) {
            const std::string path = request.url.substr(0, request.url.find('?'));
            if (path != "/metrics") {
              write_http_response(out, 404, "text/plain", "not found: metrics are served at /metrics\n", request.keep_alive);
            } else if (request.method != HTTP_GET) {
              write_http_response(out, 405, "text/plain", "only GET\n", request.keep_alive, "Allow: GET\r\n");
            } else {
              // As otelcol: text format 0.0.4; dotted label names quoted only for a scraper that says
              // it reads them (Prometheus 3), otherwise written with underscores.
              PrometheusFormat answer = format;
              answer.utf8_names = request.header("accept").find("escaping=allow-utf-8") != std::string::npos;
              write_http_response(out, 200,
                                  answer.utf8_names ? "text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8"
                                                    : "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
                                  registry->prometheus_text(level, answer), request.keep_alive);
            }
          },
          std::move(logger)) {}

bool MetricsServer::start(std::string* error) { return server_.start(error); }
void MetricsServer::shutdown() noexcept { server_.shutdown(); }

}  // namespace otlpd
