#include "exporters/otlp/otlp_http_exporter.h"

#include <fmt/format.h>


#include "exporters/common/http_client.h"
#include "exporters/common/network_options.h"
#include "otlp/json_encoder.h"
#include "exporters/otlp/otlp_response.h"
#include "google/rpc/status.pb.h"

namespace otlpd {
namespace {

constexpr const char* kPaths[3] = {"/v1/traces", "/v1/metrics", "/v1/logs"};
constexpr const char* kEndpointKeys[3] = {"traces_endpoint", "metrics_endpoint", "logs_endpoint"};
constexpr std::string_view kJsonArrays[3] = {R"({"resourceSpans":[)", R"({"resourceMetrics":[)", R"({"resourceLogs":[)"};

// One JSON request for the whole batch: each request transcodes to {"resource...":[...]};
// their arrays are joined.
std::string batch_json(const Batch& batch) {
  const std::string_view prefix = kJsonArrays[static_cast<std::size_t>(batch.signal)];
  std::string out(prefix);
  bool first = true;
  std::string one;
  for (const RequestPtr& request : batch.requests) {
    one.clear();
    append_otlp_json(one, *request);
    if (one.size() <= prefix.size() + 2) continue;  // "{}": no resources
    if (!first) out += ',';
    first = false;
    out.append(one, prefix.size(), one.size() - prefix.size() - 2);
  }
  return out + "]}";
}

std::string status_message(const std::string& body, bool json) {
  if (body.empty()) return "";
  if (!json) {
    google::rpc::Status status;
    if (status.ParseFromString(body) && !status.message().empty()) return status.message();
  }
  return body.size() > 300 ? body.substr(0, 300) + "..." : body;
}

std::string hint_for(long status) {
  switch (status) {
    case 401: return " (the backend did not accept the credentials: check exporters::<id>::headers)";
    case 403: return " (the credentials lack permission to write)";
    case 404: return " (no OTLP endpoint at this URL: check endpoint or traces_endpoint/metrics_endpoint/logs_endpoint)";
    case 413: return " (the request is too large for the backend: lower the batch processor's send_batch_max_size)";
    case 415: return " (the backend does not accept this encoding: try encoding: proto)";
    default: return "";
  }
}

class OtlpHttpSender final : public BatchSender {
 public:
  // server_address, server_port and url_path of the signal's URL, as otelcol's otlphttp labels them.
  MetricLabels metric_labels(Signal signal) const override {
    const std::string& url = urls_[static_cast<std::size_t>(signal)];
    const std::size_t scheme = url.find("://");
    const std::size_t host_start = scheme == std::string::npos ? 0 : scheme + 3;
    const std::size_t path_start = std::min(url.find('/', host_start), url.size());
    std::string host = url.substr(host_start, path_start - host_start);
    std::string port = url.rfind("https://", 0) == 0 ? "443" : "80";
    if (const std::size_t colon = host.rfind(':'); colon != std::string::npos && host.back() != ']') {
      port = host.substr(colon + 1);
      host.resize(colon);
    }
    const std::string path = path_start < url.size() ? url.substr(path_start) : "/";
    return {{"server.address", host}, {"server.port", port}, {"url.path", path}};
  }

  OtlpHttpSender(const OtlpHttpExporterConfig& config, CreateSettings settings)
      : config_(config),
        urls_{config.url(Signal::traces), config.url(Signal::metrics), config.url(Signal::logs)},
        settings_(std::move(settings)),
        retrier_(config.net.retry, settings_.logger, settings_.status) {}

  bool start(std::string* error) override {
    http_ = load_http_client(error);
    if (http_ == nullptr) return false;
    settings_.logger->info("exporting OTLP/HTTP ({}{}) to {}", config_.json ? "json" : "protobuf",
                           config_.net.compression.enabled() ? fmt::format(", {} level {}", config_.net.compression.content_encoding(),
                                                                           config_.net.compression.effective_level())
                                                             : "",
                           urls_[0]);
    return true;
  }

  ConsumeResult send(const Batch& batch) noexcept override {
    if (http_ == nullptr) return ConsumeResult::permanent("the HTTP client is not loaded (exporter not started)");
    std::string body;
    if (config_.json) {
      body = batch_json(batch);
    } else {
      for (const RequestPtr& request : batch.requests) {
        const std::string_view wire = request->wire();
        if (wire.empty()) body += request->message().SerializeAsString();
        else body.append(wire);
      }
    }
    if (config_.net.compression.enabled()) {
      std::string compressed;
      if (!thread_compressor(config_.net.compression).compress(body, &compressed)) {
        return ConsumeResult::permanent(fmt::format("{} compression failed", config_.net.compression.content_encoding()));
      }
      body = std::move(compressed);
    }
    const std::string& url = urls_[static_cast<std::size_t>(batch.signal)];
    return retrier_.run([&]() -> ConsumeResult {
      const HttpResponse r =
          http_->post(url, body, config_.json ? "application/json" : "application/x-protobuf",
                      config_.net.compression.content_encoding(), config_.net.headers, config_.net.timeout, config_.tls);
      if (!r.sent) return ConsumeResult::retryable(fmt::format("export to {} failed: {}", url, r.error)).typed("connection");
      const long status = r.status;
      const std::string& response = r.body;
      if (status >= 200 && status < 300) {
        if (!config_.json) {
          if (auto [rejected, message] = partial_success(batch.signal, response); rejected > 0 || !message.empty()) {
            settings_.logger->warn("{} rejected {} of {} {} (partial success, not retried): {}", url, rejected,
                                   batch.item_count(), item_name(batch.signal), message);
          }
        }
        return ConsumeResult::ok();
      }
      std::string what = fmt::format("export to {} failed: HTTP {}: {}", url, status,
                                     status_message(response, config_.json));
      if (otlp_http_retryable(status)) return ConsumeResult::retryable(std::move(what), r.retry_after).typed(std::to_string(status));
      return ConsumeResult::permanent(what + hint_for(status)).typed(std::to_string(status));
    });
  }

  void stop() noexcept override { retrier_.stop(); }
  void interrupt_retries() noexcept override { retrier_.stop(); }

 private:
  OtlpHttpExporterConfig config_;
  std::array<std::string, 3> urls_;  // per signal (config_.url())
  CreateSettings settings_;
  Retrier retrier_;
  const HttpClientModule* http_ = nullptr;  // loaded by start()
};

}  // namespace

bool otlp_http_retryable(long status) { return status == 429 || status == 502 || status == 503 || status == 504; }

std::string OtlpHttpExporterConfig::url(Signal signal) const {
  const auto i = static_cast<std::size_t>(signal);
  return signal_endpoints[i].empty() ? endpoint + kPaths[i] : signal_endpoints[i];
}

OtlpHttpExporterConfig OtlpHttpExporterConfig::parse(ConfigNode& node) {
  OtlpHttpExporterConfig c;
  c.endpoint = node.get_string("endpoint", "");
  while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
  for (std::size_t i = 0; i < 3; ++i) c.signal_endpoints[i] = node.get_string(kEndpointKeys[i], "");
  c.json = node.get_enum("encoding", "proto", {"proto", "json"}) == "json";
  c.net = NetworkExporterOptions::parse(node, std::chrono::seconds(30), kCompressingEncodings);
  c.tls = HttpTlsConfig::parse(node);
  node.finish();
  return c;
}

ConfigProblems OtlpHttpExporterConfig::validate() const {
  ConfigProblems problems;
  auto is_url = [](const std::string& url) { return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0; };
  bool endpoint_used = false, endpoint_reported = false;
  for (Signal signal : kAllSignals) {
    const auto i = static_cast<std::size_t>(signal);
    const bool own = !signal_endpoints[i].empty();
    endpoint_used = endpoint_used || !own;
    if (is_url(url(signal)) || (!own && (endpoint.empty() || endpoint_reported))) continue;
    problems.push_back({own ? kEndpointKeys[i] : "endpoint",
                        fmt::format("'{}' must be a URL starting with http:// or https://", url(signal))});
    endpoint_reported = endpoint_reported || !own;
  }
  if (endpoint.empty() && endpoint_used) {
    problems.push_back({"endpoint", "is required (the base URL, e.g. http://collector:4318)"});
  }
  add_nested(problems, "", net.validate());
  add_nested(problems, "tls", tls.validate());
  add_nested(problems, "", http_client_missing());
  return problems;
}

std::unique_ptr<Exporter> OtlpHttpExporterFactory::make(const CreateSettings& settings,
                                                        const OtlpHttpExporterConfig& c) const {
  return std::make_unique<QueuedExporter>(settings, c.net.queue, std::make_unique<OtlpHttpSender>(c, settings));
}

}  // namespace otlpd
