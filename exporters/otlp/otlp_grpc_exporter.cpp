#include "exporters/otlp/otlp_grpc_exporter.h"

#include <fmt/format.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>

#include "exporters/common/network_options.h"
#include "exporters/otlp/grpc_client.h"
#include "exporters/otlp/otlp_response.h"
#include "google/rpc/status.pb.h"
#include "net/grpc_status.h"

namespace otlpd {
namespace {

constexpr const char* kMethods[3] = {
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
};

std::optional<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The delay a server asked for in a google.rpc.RetryInfo detail, if any.
std::optional<std::chrono::milliseconds> retry_delay_of(const std::string& error_details) {
  if (error_details.empty()) return std::nullopt;
  google::rpc::Status details;
  if (!details.ParseFromString(error_details)) return std::nullopt;
  for (const auto& any : details.details()) {
    google::rpc::RetryInfo info;
    if (any.UnpackTo(&info)) {
      return std::chrono::milliseconds(info.retry_delay().seconds() * 1000 + info.retry_delay().nanos() / 1'000'000);
    }
  }
  return std::nullopt;
}

std::string hint_for(int code) {
  switch (static_cast<GrpcCode>(code)) {
    case GrpcCode::unauthenticated:
      return " (the backend did not accept the credentials: check exporters::<id>::headers, e.g. "
             "Authorization: \"Bearer ${env:TOKEN}\")";
    case GrpcCode::permission_denied: return " (the credentials lack permission to write)";
    case GrpcCode::unimplemented: return " (the endpoint does not accept this signal over OTLP/gRPC)";
    default: return "";
  }
}

class OtlpGrpcSender final : public BatchSender {
 public:
  OtlpGrpcSender(const OtlpGrpcExporterConfig& config, CreateSettings settings)
      : config_(config), settings_(std::move(settings)), retrier_(config.net.retry, settings_.logger, settings_.status) {}

  MetricLabels metric_labels(Signal) const override {
    const std::size_t colon = config_.target.rfind(':');
    return {{"server.address", config_.target.substr(0, colon)},
            {"server.port", colon == std::string::npos ? "" : config_.target.substr(colon + 1)}};
  }

  ~OtlpGrpcSender() override {
    if (channel_) grpc_->destroy_channel(channel_);
  }

  bool start(std::string* error) override {
    grpc_ = load_grpc_client(error);
    if (grpc_ == nullptr) return false;
    GrpcChannelConfig channel;
    channel.target = config_.target;
    channel.insecure = config_.insecure;
    if (!config_.insecure) {
      for (auto [path, target] : {std::pair{&config_.ca_file, &channel.ca_pem},
                                  std::pair{&config_.cert_file, &channel.cert_pem},
                                  std::pair{&config_.key_file, &channel.key_pem}}) {
        if (path->empty()) continue;
        auto text = read_text_file(*path);
        if (!text) {
          *error = fmt::format("cannot read TLS file '{}': {}", *path, std::strerror(errno));
          return false;
        }
        *target = *text;
      }
    }
    channel.server_name_override = config_.server_name_override;
    channel.gzip = config_.net.compression.enabled();
    channel_ = grpc_->create_channel(channel, error);
    if (channel_ == nullptr) return false;
    settings_.logger->info("exporting OTLP/gRPC to {} ({}{})", config_.target,
                           config_.insecure ? "insecure" : "TLS",
                           config_.net.compression.enabled()
                               ? fmt::format(", gzip level {}", config_.net.compression.effective_level())
                               : "");
    return true;
  }

  ConsumeResult send(const Batch& batch) noexcept override {
    // The body: every request's bytes, appended (protobuf merges them into one request).
    std::vector<std::string_view> pieces;
    std::vector<std::string> encoded;  // for requests built in memory (no received bytes)
    encoded.reserve(batch.requests.size());
    for (const RequestPtr& request : batch.requests) {
      std::string_view wire = request->wire();
      if (wire.empty()) wire = encoded.emplace_back(request->message().SerializeAsString());
      pieces.push_back(wire);
    }
    std::string compressed;
    if (config_.net.compression.enabled()) {
      // One buffer for the compressor (a copy, cheap beside the compression).
      std::string whole;
      for (std::string_view piece : pieces) whole.append(piece);
      if (!thread_compressor(config_.net.compression).compress(whole, &compressed)) {
        return ConsumeResult::permanent("gzip compression failed");
      }
      pieces.assign(1, compressed);
    }

    return retrier_.run([&]() -> ConsumeResult {
      const GrpcCallOutcome outcome = grpc_->call(channel_, kMethods[static_cast<std::size_t>(batch.signal)], pieces,
                                                  config_.net.headers, config_.net.timeout);
      if (outcome.code == 0) {
        if (auto [rejected, message] = partial_success(batch.signal, outcome.response);
            rejected > 0 || !message.empty()) {
          settings_.logger->warn("{} rejected {} of {} {} (partial success, not retried): {}", config_.target,
                                 rejected, batch.item_count(), item_name(batch.signal), message);
        }
        return ConsumeResult::ok();
      }
      const auto retry_info = retry_delay_of(outcome.error_details);
      std::string what =
          fmt::format("export to {} failed: {}: {}", config_.target, grpc_code_name(outcome.code), outcome.message);
      std::string type = grpc_go_code_name(outcome.code);
      if (!otlp_retryable(outcome.code, retry_info.has_value())) {
        return ConsumeResult::permanent(what + hint_for(outcome.code)).typed(std::move(type));
      }
      return ConsumeResult::retryable(std::move(what), retry_info).typed(std::move(type));
    });
  }

  void stop() noexcept override { retrier_.stop(); }
  void interrupt_retries() noexcept override { retrier_.stop(); }

 private:
  OtlpGrpcExporterConfig config_;
  CreateSettings settings_;
  const GrpcClientModule* grpc_ = nullptr;  // loaded by start()
  void* channel_ = nullptr;
  Retrier retrier_;
};

}  // namespace

bool otlp_retryable(int grpc_code, bool has_retry_info) {
  switch (static_cast<GrpcCode>(grpc_code)) {
    case GrpcCode::cancelled:
    case GrpcCode::deadline_exceeded:
    case GrpcCode::aborted:
    case GrpcCode::out_of_range:
    case GrpcCode::unavailable:
    case GrpcCode::data_loss:
      return true;
    case GrpcCode::resource_exhausted:
      return has_retry_info;
    default:
      return false;
  }
}

OtlpGrpcExporterConfig OtlpGrpcExporterConfig::parse(ConfigNode& node) {
  OtlpGrpcExporterConfig config;
  std::string endpoint = node.get_string("endpoint", "");
  // otelcol accepts a URL: http:// implies an insecure connection, https:// TLS.
  bool scheme_insecure = false;
  if (endpoint.rfind("http://", 0) == 0) {
    endpoint = endpoint.substr(7);
    scheme_insecure = true;
  } else if (endpoint.rfind("https://", 0) == 0) {
    endpoint = endpoint.substr(8);
  }
  if (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  config.target = endpoint;
  ConfigNode tls = node.child("tls");
  config.insecure = tls.get_bool("insecure", scheme_insecure);
  config.ca_file = tls.get_string("ca_file", "");
  config.cert_file = tls.get_string("cert_file", "");
  config.key_file = tls.get_string("key_file", "");
  config.server_name_override = tls.get_string("server_name_override", "");
  if (tls.get_bool("insecure_skip_verify", false)) {  // an option otlpd refuses, not a value it keeps
    tls.error("insecure_skip_verify", "is not supported; give the server's CA with ca_file instead");
  }
  tls.finish();
  config.net = NetworkExporterOptions::parse(node, std::chrono::seconds(5), "none, gzip");
  std::map<std::string, std::string> headers;
  for (const auto& [key, value] : config.net.headers) {
    std::string lower = key;  // gRPC metadata keys must be lowercase
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    headers[lower] = value;
  }
  config.net.headers = std::move(headers);
  node.finish();
  return config;
}

ConfigProblems OtlpGrpcExporterConfig::validate() const {
  ConfigProblems problems;
  if (target.empty()) {
    problems.push_back({"endpoint", "is required (host:port of the OTLP/gRPC server)"});
  } else if (target.find('/') != std::string::npos || target.rfind(':') == std::string::npos) {
    problems.push_back({"endpoint", fmt::format("'{}' is not host:port (a URL path is not used by OTLP/gRPC)", target)});
  }
  if (cert_file.empty() != key_file.empty()) problems.push_back({"tls::cert_file", "cert_file and key_file go together"});
  add_nested(problems, "", net.validate());
  add_nested(problems, "", grpc_client_missing());
  // zstd is refused when parsed (gzip or none): gRPC 1.51's core cannot announce it.
  return problems;
}

std::unique_ptr<Exporter> OtlpGrpcExporterFactory::make(const CreateSettings& settings,
                                                        const OtlpGrpcExporterConfig& c) const {
  return std::make_unique<QueuedExporter>(settings, c.net.queue, std::make_unique<OtlpGrpcSender>(c, settings));
}

}  // namespace otlpd
