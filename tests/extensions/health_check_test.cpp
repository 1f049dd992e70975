#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "extensions/health_check/health_check_extension.h"

namespace otlpd {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using namespace std::chrono_literals;

TEST(HealthAnswer, UnavailableWhileStartingAvailableWhenRunning) {
  HealthCheckConfig config;
  SelfTelemetry telemetry;
  const auto now = std::chrono::system_clock::now();
  auto answer = health_answer(config, telemetry, now);
  EXPECT_EQ(answer.status, 503);
  EXPECT_THAT(answer.body, HasSubstr(R"({"status":"Server not available","upSince":"0001-01-01T00:00:00Z","uptime":"")"));
  EXPECT_THAT(answer.body, HasSubstr(R"("state":"starting")"));
  telemetry.status.set_state(StatusRegistry::State::running);
  answer = health_answer(config, telemetry, std::chrono::system_clock::now() + 1500ms);
  EXPECT_EQ(answer.status, 200);
  EXPECT_THAT(answer.body, MatchesRegex(R"(\{"status":"Server available","upSince":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z","uptime":"1\.[0-9]+s"\})"));
  telemetry.status.set_state(StatusRegistry::State::stopping);
  EXPECT_EQ(health_answer(config, telemetry, now).status, 503);
}

TEST(HealthAnswer, AFailedReloadIsUnavailableWithItsReason) {
  HealthCheckConfig config;
  SelfTelemetry telemetry;
  telemetry.status.set_state(StatusRegistry::State::running);
  telemetry.status.set_state(StatusRegistry::State::reload_failed, "the last reload failed: invalid configuration");
  const auto answer = health_answer(config, telemetry, std::chrono::system_clock::now());
  EXPECT_EQ(answer.status, 503);
  EXPECT_THAT(answer.body, HasSubstr(R"("state":"reload_failed","message":"the last reload failed: invalid configuration")"));
}

TEST(HealthAnswer, AnExporterFailingLongerThanRecoveryDurationIsNamed) {
  HealthCheckConfig config;
  config.recovery_duration = 30s;
  SelfTelemetry telemetry;
  telemetry.status.set_state(StatusRegistry::State::running);
  auto exporter = telemetry.status.add("exporter otlp/backend");
  auto other = telemetry.status.add("exporter debug");
  exporter->recoverable_error("export to backend:4317 failed: UNAVAILABLE");
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(health_answer(config, telemetry, now + 10s).status, 200) << "within recovery_duration";
  const auto late = health_answer(config, telemetry, now + 31s);
  EXPECT_EQ(late.status, 503);
  EXPECT_THAT(late.body, HasSubstr(R"("component":"exporter otlp/backend","status":"recoverable_error")"));
  EXPECT_THAT(late.body, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(late.body, Not(HasSubstr("exporter debug")));
  config.include_recoverable_errors = false;
  EXPECT_EQ(health_answer(config, telemetry, now + 31s).status, 200);
  config.include_recoverable_errors = true;
  exporter->ok();
  EXPECT_EQ(health_answer(config, telemetry, now + 31s).status, 200) << "a success clears it";
  exporter->permanent_error("HTTP 400: bad request (not retryable)");
  EXPECT_EQ(health_answer(config, telemetry, now).status, 503) << "permanent errors count at once";
  config.include_permanent_errors = false;
  EXPECT_EQ(health_answer(config, telemetry, now).status, 200);
}

TEST(HealthAnswer, CustomBodies) {
  HealthCheckConfig config;
  config.healthy_body = "I'm OK";
  config.unhealthy_body = "I'm not well";
  SelfTelemetry telemetry;
  EXPECT_EQ(health_answer(config, telemetry, std::chrono::system_clock::now()).body, "I'm not well");
  telemetry.status.set_state(StatusRegistry::State::running);
  const auto answer = health_answer(config, telemetry, std::chrono::system_clock::now());
  EXPECT_EQ(answer.body, "I'm OK");
  EXPECT_EQ(answer.content_type, "text/plain");
}

}  // namespace
}  // namespace otlpd
