#include "extensions/health_check/health_check_extension.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "json/json_writer.h"
#include "net/http_server.h"

namespace otlpd {

HealthCheckConfig HealthCheckConfig::parse(ConfigNode& node) {
  HealthCheckConfig config;
  config.endpoint = node.get_string("endpoint", config.endpoint);
  config.path = node.get_string("path", config.path);
  ConfigNode body = node.child("response_body");
  config.healthy_body = body.get_string("healthy", "");
  config.unhealthy_body = body.get_string("unhealthy", "");
  body.finish();
  ConfigNode pipeline = node.child("check_collector_pipeline");
  if (pipeline.get_bool("enabled", false)) {  // an option otlpd refuses, not a value it keeps
    pipeline.error("enabled", "check_collector_pipeline is deprecated in otelcol and not supported; "
                              "use component_health (on by default in otlpd)");
  }
  pipeline.get_duration("interval", std::chrono::minutes(5));
  pipeline.get_int("exporter_failure_threshold", 5);
  pipeline.finish();
  ConfigNode health = node.child("component_health");
  config.include_permanent_errors = health.get_bool("include_permanent_errors", config.include_permanent_errors);
  config.include_recoverable_errors = health.get_bool("include_recoverable_errors", config.include_recoverable_errors);
  config.recovery_duration = health.get_duration("recovery_duration", config.recovery_duration);
  health.finish();
  node.finish();
  return config;
}

ConfigProblems HealthCheckConfig::validate() const {
  ConfigProblems problems;
  std::string host;
  int port = 0;
  if (!split_endpoint(endpoint, &host, &port)) problems.push_back({"endpoint", fmt::format("'{}' is not host:port", endpoint)});
  if (path.empty() || path.front() != '/') problems.push_back({"path", "must start with '/'"});
  if (recovery_duration.count() < 0) problems.push_back({"component_health::recovery_duration", "must be >= 0"});
  return problems;
}

namespace {

// Go's time.Duration.String(), which otelcol's "uptime" is: "1h2m3.5s", "250ms".
std::string go_duration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  if (d < microseconds(1)) return fmt::format("{}ns", d.count());
  if (d < milliseconds(1)) return fmt::format("{}µs", duration<double, std::micro>(d).count());
  if (d < seconds(1)) return fmt::format("{}ms", duration<double, std::milli>(d).count());
  std::string out;
  if (d >= hours(1)) out += fmt::format("{}h", duration_cast<hours>(d).count());
  if (d >= minutes(1)) out += fmt::format("{}m", duration_cast<minutes>(d % hours(1)).count());
  return out + fmt::format("{}s", duration<double>(d % minutes(1)).count());
}

// Go's RFC 3339 with nanoseconds, trailing zeros trimmed: otelcol's "upSince".
std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
  std::string fraction = fmt::format("{:09}", std::chrono::duration_cast<std::chrono::nanoseconds>(t - seconds).count());
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}{}{}Z", seconds, fraction.empty() ? "" : ".", fraction);
}

// Why a component makes the collector unhealthy, or nullptr if it does not.
const char* failing(const HealthCheckConfig& config, const ComponentStatus::View& c,
                    std::chrono::system_clock::time_point now) {
  if (c.health == ComponentStatus::Health::permanent_error && config.include_permanent_errors) return "permanent error";
  if (c.health == ComponentStatus::Health::recoverable_error && config.include_recoverable_errors &&
      now - c.since > config.recovery_duration) {
    return "recoverable error for longer than recovery_duration";
  }
  return nullptr;
}

}  // namespace

HealthAnswer health_answer(const HealthCheckConfig& config, const SelfTelemetry& telemetry,
                           std::chrono::system_clock::time_point now) {
  const auto state = telemetry.status.state();
  const auto components = telemetry.status.components();
  bool healthy = state == StatusRegistry::State::running;
  for (const auto& c : components) {
    if (failing(config, c, now)) healthy = false;
  }
  HealthAnswer answer{healthy ? 200 : 503, {}};
  if (healthy ? !config.healthy_body.empty() : !config.unhealthy_body.empty()) {
    answer.body = healthy ? config.healthy_body : config.unhealthy_body;
    answer.content_type = "text/plain";
    return answer;
  }
  // otelcol's body, plus why when unavailable: the collector's state and the failing components.
  JsonWriter json(answer.body);
  json.begin_object();
  json.key("status");
  json.string(healthy ? "Server available" : "Server not available");
  const bool up = state == StatusRegistry::State::running || state == StatusRegistry::State::reload_failed;
  const auto since = telemetry.status.running_since();
  json.key("upSince");
  json.string(up ? rfc3339(since) : "0001-01-01T00:00:00Z");
  json.key("uptime");
  json.string(up ? go_duration(now - since) : "");
  if (!healthy) {
    json.key("state");
    json.string(to_string(state));
    if (const std::string message = telemetry.status.state_message(); !message.empty()) {
      json.key("message");
      json.string(message);
    }
    json.key("components");
    json.begin_array();
    for (const auto& c : components) {
      const char* why = failing(config, c, now);
      if (!why) continue;
      json.begin_object();
      json.key("component");
      json.string(c.id);
      json.key("status");
      json.string(to_string(c.health));
      json.key("reason");
      json.string(why);
      json.key("error");
      json.string(c.error);
      json.key("since");
      json.string(rfc3339(c.since));
      json.end_object();
    }
    json.end_array();
  }
  json.end_object();
  return answer;
}

namespace {

class HealthCheckExtension final : public Extension {
 public:
  HealthCheckExtension(const CreateSettings& settings, const HealthCheckConfig& config)
      : config_(config),
        server_(HttpServerOptions{.name = "extension " + settings.id.str(), .endpoint = config.endpoint,
                                  .max_request_body_size = 0},
                [this, telemetry = settings.telemetry](HttpRequest& request, std::string* out) {
                  // As otelcol's (Go's ServeMux): a path ending in '/' answers every path under
                  // it, any method; keep-alive is off.
                  const std::string path = request.url.substr(0, request.url.find('?'));
                  const bool match = config_.path.back() == '/' ? path.rfind(config_.path, 0) == 0 : path == config_.path;
                  if (!match) {
                    write_http_response(out, 404, "text/plain", "404 page not found\n", false);
                    return;
                  }
                  const HealthAnswer answer = health_answer(config_, *telemetry, std::chrono::system_clock::now());
                  write_http_response(out, answer.status, answer.content_type, answer.body, false);
                },
                settings.logger) {}

  bool start(std::string* error) override { return server_.start(error); }
  void shutdown() noexcept override { server_.shutdown(); }

 private:
  HealthCheckConfig config_;
  HttpServer server_;  // its thread reads config_ and the status registry
};

}  // namespace

std::unique_ptr<Extension> HealthCheckExtensionFactory::make(const CreateSettings& settings,
                                                             const HealthCheckConfig& config) const {
  return std::make_unique<HealthCheckExtension>(settings, config);
}

}  // namespace otlpd
