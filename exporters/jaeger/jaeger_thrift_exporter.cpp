#include "exporters/jaeger/jaeger_thrift_exporter.h"

#include <fmt/format.h>

#include "exporters/common/network_options.h"
#include "translator/jaeger/jaeger_mapping.h"
#include "translator/jaeger/jaeger_thrift_module.h"

namespace otlpd {
namespace jt = jaegertracing::thrift;

namespace {

class JaegerThriftSender final : public BatchSender {
 public:
  JaegerThriftSender(const JaegerThriftConfig& config, CreateSettings settings)
      : config_(config), settings_(std::move(settings)), retrier_(config.net.retry, settings_.logger, settings_.status) {}

  bool start(std::string* error) override {
    http_ = load_http_client(error);
    if (http_ == nullptr) return false;
    thrift_ = load_module_api<jaeger::JaegerThriftModule>(error);
    if (thrift_ == nullptr) {
      *error = "jaeger.thrift's encoding: " + *error;
      return false;
    }
    settings_.logger->info("exporting jaeger.thrift over HTTP to {}", config_.url);
    return true;
  }

  ConsumeResult send(const Batch& batch) noexcept override {
    if (http_ == nullptr || thrift_ == nullptr) {
      return ConsumeResult::permanent("the HTTP client and jaeger.thrift are not loaded (exporter not started)");
    }
    std::string body, error;
    for (const RequestPtr& request : batch.requests) {
      for (const jt::Batch& jaeger : jaeger::to_batches(request->traces())) {
        if (!thrift_->serialize(jaeger, &body, &error)) return ConsumeResult::permanent(error);
        ConsumeResult result = retrier_.run([&]() -> ConsumeResult {
          const HttpResponse r = http_->post(config_.url, body, "application/x-thrift", "", config_.net.headers,
                                             config_.net.timeout, config_.tls);
          if (!r.sent) {
            return ConsumeResult::retryable(fmt::format("export to {} failed: {}", config_.url, r.error)).typed("connection");
          }
          if (r.status >= 200 && r.status < 300) return ConsumeResult::ok();
          std::string what = fmt::format("export to {} failed: HTTP {}: {}", config_.url, r.status,
                                         r.body.substr(0, 300));
          if (r.status == 429 || r.status >= 500) {
            return ConsumeResult::retryable(std::move(what), r.retry_after).typed(std::to_string(r.status));
          }
          return ConsumeResult::permanent(std::move(what)).typed(std::to_string(r.status));
        });
        if (!result.is_ok()) return result;
      }
    }
    return ConsumeResult::ok();
  }

  void stop() noexcept override { retrier_.stop(); }
  void interrupt_retries() noexcept override { retrier_.stop(); }

 private:
  JaegerThriftConfig config_;
  CreateSettings settings_;
  Retrier retrier_;
  const HttpClientModule* http_ = nullptr;               // loaded by start()
  const jaeger::JaegerThriftModule* thrift_ = nullptr;  // loaded by start()
};

}  // namespace

JaegerThriftConfig JaegerThriftConfig::parse(ConfigNode& node) {
  JaegerThriftConfig c;
  c.url = node.get_string("endpoint", "http://localhost:14268/api/traces");
  c.net = NetworkExporterOptions::parse(node, std::chrono::seconds(5), "");
  c.tls = HttpTlsConfig::parse(node);
  node.finish();
  return c;
}

ConfigProblems JaegerThriftConfig::validate() const {
  ConfigProblems problems;
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    problems.push_back({"endpoint", fmt::format("'{}' must be a URL such as http://jaeger:14268/api/traces", url)});
  }
  add_nested(problems, "", net.validate());
  add_nested(problems, "tls", tls.validate());
  add_nested(problems, "", http_client_missing());
  if (std::string why = module_missing(jaeger::JaegerThriftModule::kModule); !why.empty()) {
    problems.push_back({"", "protocol thrift_http " + why});
  }
  return problems;
}

std::unique_ptr<Exporter> create_jaeger_thrift_exporter(const CreateSettings& settings,
                                                        const JaegerThriftConfig& config) {
  return std::make_unique<QueuedExporter>(settings, config.net.queue, std::make_unique<JaegerThriftSender>(config, settings));
}

}  // namespace otlpd
