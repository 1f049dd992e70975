#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "pipeline/typed_factory.h"

namespace otlpd {

// extensions::health_check, with otelcol's options (endpoint, path, response_body) and the
// component_health options of otelcol's healthcheckv2. Unlike otelcol's health_check, which
// stays green while every export fails, the defaults count exporter errors: a permanent
// error (until a later export succeeds), or a recoverable one (a retried failure) that has
// lasted longer than recovery_duration, turns the answer into 503 naming the component.
struct HealthCheckConfig final : ComponentConfig {
  std::string endpoint = "localhost:13133";
  std::string path = "/";
  std::string healthy_body;    // response_body::healthy; empty: the JSON status
  std::string unhealthy_body;  // response_body::unhealthy
  bool include_permanent_errors = true;
  bool include_recoverable_errors = true;
  std::chrono::milliseconds recovery_duration{5 * 60 * 1000};

  // Reads the options (validate() checks them).
  static HealthCheckConfig parse(ConfigNode& node);
  ConfigProblems validate() const;
};

class HealthCheckExtensionFactory final : public TypedExtensionFactory<HealthCheckConfig> {
 public:
  std::string_view type() const override { return "health_check"; }
  HealthCheckConfig parse(ConfigNode& node) const override { return HealthCheckConfig::parse(node); }
  std::unique_ptr<Extension> make(const CreateSettings& settings, const HealthCheckConfig& config) const override;
};

// What health_check answers for the process's current state (exposed for tests).
struct HealthAnswer {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};
HealthAnswer health_answer(const HealthCheckConfig& config, const SelfTelemetry& telemetry,
                           std::chrono::system_clock::time_point now);

}  // namespace otlpd
