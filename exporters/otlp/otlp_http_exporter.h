#pragma once

#include <array>
#include <chrono>
#include <map>
#include <string>

#include "exporters/common/http_client.h"
#include "exporters/common/network_options.h"
#include "exporters/common/queued_exporter.h"
#include "exporters/common/retry.h"
#include "pipeline/typed_factory.h"

namespace otlpd {

// exporters::otlp_http (alias otlphttp), with otelcol's options and defaults.
struct OtlpHttpExporterConfig final : ComponentConfig {
  std::string endpoint;                         // the base URL, without trailing '/'
  std::array<std::string, 3> signal_endpoints;  // traces_endpoint, metrics_endpoint, logs_endpoint
  bool json = false;                            // encoding: proto (default) | json
  HttpTlsConfig tls;
  NetworkExporterOptions net;                   // headers, compression, timeout (30 s here), retry, queue

  // Where a signal is sent: its *_endpoint, or endpoint + /v1/traces (/v1/metrics, /v1/logs).
  std::string url(Signal signal) const;
  // Reads the options (validate() checks them).
  static OtlpHttpExporterConfig parse(ConfigNode& node);
  ConfigProblems validate() const;
};

// POSTs each batch as one OTLP/HTTP request: protobuf (the received bytes, appended) or
// OTLP/JSON (transcoded from them, the requests' resource arrays joined). Retries 429, 502,
// 503, 504 and connection failures with backoff, honouring Retry-After; other statuses are
// permanent and logged with the server's google.rpc.Status message.
class OtlpHttpExporterFactory final : public TypedExporterFactory<OtlpHttpExporterConfig> {
 public:
  std::string_view type() const override { return "otlp_http"; }
  std::vector<std::string_view> aliases() const override { return {"otlphttp"}; }
  OtlpHttpExporterConfig parse(ConfigNode& node) const override { return OtlpHttpExporterConfig::parse(node); }
  std::unique_ptr<Exporter> make(const CreateSettings& settings, const OtlpHttpExporterConfig& config) const override;
};

// Whether an HTTP status is retryable for OTLP/HTTP.
bool otlp_http_retryable(long status);

}  // namespace otlpd
