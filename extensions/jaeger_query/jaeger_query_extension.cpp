#include "extensions/jaeger_query/jaeger_query_extension.h"

#include <fmt/format.h>

#include "extensions/jaeger_query/query_api.h"
#include "extensions/jaeger_query/viewer_html.h"
#include "net/http_server.h"
#include "tracestore/trace_store.h"

namespace otlpd {
namespace {

class JaegerQueryExtension final : public Extension {
 public:
  JaegerQueryExtension(const JaegerQueryConfig& config, CreateSettings settings)
      : config_(config), settings_(std::move(settings)) {}

  bool start(std::string* error) override {
    // The store is the exporter's, shared through the host; holding it keeps it alive for as
    // long as this serves it, whichever of the two stops first.
    store_ = settings_.host->find<const TraceStore>(config_.trace_store);
    if (!store_) {
      *error = fmt::format("no trace_store exporter '{}' is in a pipeline (trace_store: names the exporter "
                           "whose traces this serves)",
                           config_.trace_store);
      return false;
    }
    api_ = std::make_unique<QueryApi>(*store_, kViewerHtml);
    HttpServerOptions options;
    options.name = "trace query API and viewer";
    options.endpoint = config_.endpoint;
    options.max_request_body_size = 64 * 1024;  // GET requests only
    server_ = std::make_unique<HttpServer>(
        options, [this](HttpRequest& request, std::string* out) { api_->handle(request, out); }, settings_.logger);
    if (!server_->start(error)) return false;
    settings_.logger->info("serving the traces of {}; open http://{} to see them", config_.trace_store,
                           config_.endpoint);
    return true;
  }

  void shutdown() noexcept override {
    if (server_) server_->shutdown();
  }

 private:
  JaegerQueryConfig config_;
  CreateSettings settings_;
  std::shared_ptr<const TraceStore> store_;
  std::unique_ptr<QueryApi> api_;  // reads *store_
  std::unique_ptr<HttpServer> server_;
};

}  // namespace

JaegerQueryConfig JaegerQueryConfig::parse(ConfigNode& node) {
  JaegerQueryConfig c;
  c.endpoint = node.get_string("endpoint", c.endpoint);
  c.trace_store = node.get_string("trace_store", c.trace_store);
  node.finish();
  return c;
}

ConfigProblems JaegerQueryConfig::validate() const {
  ConfigProblems problems;
  std::string host;
  int port = 0;
  if (!split_endpoint(endpoint, &host, &port)) problems.push_back({"endpoint", fmt::format("'{}' is not host:port", endpoint)});
  if (std::string why; !ComponentId::parse(trace_store, &why)) problems.push_back({"trace_store", why});
  return problems;
}

std::unique_ptr<Extension> JaegerQueryExtensionFactory::make(const CreateSettings& settings,
                                                             const JaegerQueryConfig& config) const {
  return std::make_unique<JaegerQueryExtension>(config, settings);
}

}  // namespace otlpd
