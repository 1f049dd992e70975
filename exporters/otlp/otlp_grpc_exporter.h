#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "exporters/common/queued_exporter.h"
#include "exporters/common/network_options.h"
#include "pipeline/typed_factory.h"

namespace otlpd {

// exporters::otlp_grpc (alias otlp): OTLP over gRPC to another collector or a backend.
struct OtlpGrpcExporterConfig final : ComponentConfig {
  std::string target;  // host:port for gRPC
  bool insecure = false;
  std::string ca_file, cert_file, key_file, server_name_override;
  NetworkExporterOptions net;  // headers (keys lowercased, as gRPC metadata requires), compression, ...

  // Reads the options (validate() checks them).
  static OtlpGrpcExporterConfig parse(ConfigNode& node);
  ConfigProblems validate() const;
};

// Sends each batch as one Export call whose body is the requests' received bytes, appended
// (the protobuf encoding of a merged request): nothing is decoded or encoded again. Retries
// what the OTLP specification calls retryable, with exponential backoff and jitter, honouring
// the server's RetryInfo; while it retries, its sending queue fills and otlpd pushes back on
// its own clients. Permanent errors (INVALID_ARGUMENT, UNAUTHENTICATED, ...) are not retried:
// they are logged with what to check, and counted. Partial success is logged, not retried.
class OtlpGrpcExporterFactory final : public TypedExporterFactory<OtlpGrpcExporterConfig> {
 public:
  std::string_view type() const override { return "otlp_grpc"; }
  std::vector<std::string_view> aliases() const override { return {"otlp"}; }
  OtlpGrpcExporterConfig parse(ConfigNode& node) const override { return OtlpGrpcExporterConfig::parse(node); }
  std::unique_ptr<Exporter> make(const CreateSettings& settings, const OtlpGrpcExporterConfig& config) const override;
};

// Whether a gRPC status code is retryable for OTLP (RESOURCE_EXHAUSTED only with RetryInfo).
bool otlp_retryable(int grpc_code, bool has_retry_info);

}  // namespace otlpd
