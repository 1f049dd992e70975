#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporters/debug/debug_exporter.h"
#include "support/config_support.h"

namespace otlpd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Parsed<DebugExporterFactory> parse(const std::string& yaml) {
  return parse_with(DebugExporterFactory(), yaml, "exporters::debug");
}

TEST(DebugExporterConfig, OtelcolDefaults) {
  auto p = parse("{}");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(p.config.verbosity, DebugVerbosity::basic);
  EXPECT_EQ(p.config.queue.queue_size, 1000);
}

TEST(DebugExporterConfig, FullConfigParses) {
  EXPECT_EQ(parse("{verbosity: normal}").config.verbosity, DebugVerbosity::normal);
  auto p = parse("{verbosity: detailed, sending_queue: {enabled: false}}");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(p.config.verbosity, DebugVerbosity::detailed);
  EXPECT_FALSE(p.config.queue.enabled);
}

TEST(DebugExporterConfig, EachRuleNamesItsKey) {
  EXPECT_THAT(parse("{verbosity: loud}").errors,
              ElementsAre("exporters::debug::verbosity: 'loud' is not one of: basic, normal, detailed"));
  EXPECT_THAT(parse("{sending_queue: {num_consumers: 2000}}").errors,
              ElementsAre("exporters::debug::sending_queue::num_consumers: must be between 1 and 1024"));
  DebugConfig c;
  EXPECT_THAT(c.validate(), IsEmpty());
  c.queue.queue_size = 0;
  EXPECT_THAT(c.validate(), ElementsAre(ConfigProblem{"sending_queue::queue_size", "must be > 0"}));
}

}  // namespace
}  // namespace otlpd
