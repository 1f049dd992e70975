#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "extensions/health_check/health_check_extension.h"
#include "support/config_support.h"

namespace otlpd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

Parsed<HealthCheckExtensionFactory> parse(const std::string& yaml) {
  return parse_with(HealthCheckExtensionFactory(), yaml, "extensions::health_check");
}

TEST(HealthCheckConfig, OtelcolDefaultsAndHonestComponentHealth) {
  auto p = parse("{}");
  ASSERT_THAT(p.errors, IsEmpty());
  const auto& c = p.config;
  EXPECT_EQ(c.endpoint, "localhost:13133");
  EXPECT_EQ(c.path, "/");
  EXPECT_EQ(c.healthy_body, "");
  EXPECT_EQ(c.unhealthy_body, "");
  EXPECT_TRUE(c.include_permanent_errors);
  EXPECT_TRUE(c.include_recoverable_errors);
  EXPECT_EQ(c.recovery_duration, 5min);
}

TEST(HealthCheckConfig, FullConfigParses) {
  auto p = parse(R"({endpoint: "0.0.0.0:13134", path: /health, response_body: {healthy: up, unhealthy: down},
                    check_collector_pipeline: {enabled: false, interval: 1m, exporter_failure_threshold: 3},
                    component_health: {include_permanent_errors: false, include_recoverable_errors: false,
                                       recovery_duration: 30s}})");
  ASSERT_THAT(p.errors, IsEmpty());
  const auto& c = p.config;
  EXPECT_EQ(c.endpoint, "0.0.0.0:13134");
  EXPECT_EQ(c.path, "/health");
  EXPECT_EQ(c.healthy_body, "up");
  EXPECT_EQ(c.unhealthy_body, "down");
  EXPECT_FALSE(c.include_permanent_errors);
  EXPECT_FALSE(c.include_recoverable_errors);
  EXPECT_EQ(c.recovery_duration, 30s);
}

TEST(HealthCheckConfig, EachRuleNamesItsKey) {
  EXPECT_THAT(parse("{endpoint: nope}").errors, ElementsAre("extensions::health_check::endpoint: 'nope' is not host:port"));
  EXPECT_THAT(parse("{path: health}").errors, ElementsAre("extensions::health_check::path: must start with '/'"));
  EXPECT_THAT(parse("{path: ''}").errors, ElementsAre("extensions::health_check::path: must start with '/'"));
  EXPECT_THAT(parse("{check_collector_pipeline: {enabled: true}}").errors,
              ElementsAre("extensions::health_check::check_collector_pipeline::enabled: check_collector_pipeline is "
                          "deprecated in otelcol and not supported; use component_health (on by default in otlpd)"));
  EXPECT_THAT(parse("{component_health: {recovery_duration: fast}}").errors,
              ElementsAre("extensions::health_check::component_health::recovery_duration: must be a duration such as "
                          "200ms, 5s or 1m30s, got 'fast'"));
  EXPECT_THAT(parse("{tls: {}}").errors,
              ElementsAre("extensions::health_check::tls: unknown key (known keys: check_collector_pipeline, "
                          "component_health, endpoint, path, response_body)"));
  HealthCheckConfig c;  // built in code
  EXPECT_THAT(c.validate(), IsEmpty());
  c.recovery_duration = -1s;
  c.path = "x";
  EXPECT_THAT(c.validate(), ElementsAre(ConfigProblem{"path", "must start with '/'"},
                                        ConfigProblem{"component_health::recovery_duration", "must be >= 0"}));
}

}  // namespace
}  // namespace otlpd
