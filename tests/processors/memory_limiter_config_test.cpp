#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "processors/memory_limiter/memory_limiter_processor.h"
#include "support/config_support.h"

namespace otlpd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

constexpr std::uint64_t kMiB = 1024 * 1024;

Parsed<MemoryLimiterProcessorFactory> parse(const std::string& yaml) {
  return parse_with(MemoryLimiterProcessorFactory(), yaml, "processors::memory_limiter");
}

TEST(MemoryLimiterConfig, CheckIntervalAndALimitAreRequiredAsInOtelcol) {
  // otelcol has no default for check_interval or the limit: an empty config is refused.
  auto p = parse("{}");
  EXPECT_THAT(p.errors, ElementsAre("processors::memory_limiter::check_interval: must be greater than zero (e.g. 1s)",
                                    "processors::memory_limiter::limit_mib: a limit is required: set limit_mib or "
                                    "limit_percentage"));
  EXPECT_EQ(p.config.check_interval, 0ms);
  EXPECT_EQ(p.config.limit_mib, 0);
  EXPECT_EQ(p.config.spike_limit_mib, 0);
  EXPECT_EQ(p.config.limit_percentage, 0);
  EXPECT_EQ(p.config.spike_limit_percentage, 0);
}

TEST(MemoryLimiterConfig, MibLimitsAndTheDefaultSpike) {
  auto p = parse("{check_interval: 1s, limit_mib: 4000, spike_limit_mib: 800}");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(p.config.check_interval, 1s);
  EXPECT_EQ(p.config.limit_mib, 4000);
  EXPECT_EQ(p.config.spike_limit_mib, 800);
  const auto limits = p.config.limits();
  EXPECT_EQ(limits.limit_bytes, 4000 * kMiB);
  EXPECT_EQ(limits.spike_bytes, 800 * kMiB);

  auto d = parse("{check_interval: 100ms, limit_mib: 100}");
  ASSERT_THAT(d.errors, IsEmpty());
  EXPECT_EQ(d.config.limits().spike_bytes, 20 * kMiB);  // default: 20% of the limit
}

TEST(MemoryLimiterConfig, PercentagesOfTheMachinesMemory) {
  auto p = parse("{check_interval: 1s, limit_percentage: 50, spike_limit_percentage: 10}");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(p.config.limit_percentage, 50);
  EXPECT_EQ(p.config.spike_limit_percentage, 10);
  const auto limits = p.config.limits(1000 * kMiB);
  EXPECT_EQ(limits.limit_bytes, 500 * kMiB);
  EXPECT_EQ(limits.spike_bytes, 100 * kMiB);
  auto d = parse("{check_interval: 1s, limit_percentage: 50}");
  EXPECT_EQ(d.config.limits(1000 * kMiB).spike_bytes, 100 * kMiB);  // 20% of the limit
  EXPECT_GT(d.config.limits().limit_bytes, 0u);                      // the machine's own memory
}

TEST(MemoryLimiterConfig, EachRuleNamesItsKey) {
  const std::string ok = "check_interval: 1s, ";
  EXPECT_THAT(parse("{" + ok + "limit_mib: -1}").errors,
              ElementsAre("processors::memory_limiter::limit_mib: must be >= 0",
                          "processors::memory_limiter::limit_mib: a limit is required: set limit_mib or limit_percentage"));
  EXPECT_THAT(parse("{" + ok + "limit_mib: 10, spike_limit_mib: -1}").errors,
              ElementsAre("processors::memory_limiter::spike_limit_mib: must be >= 0"));
  EXPECT_THAT(parse("{" + ok + "limit_percentage: 101}").errors,
              ElementsAre("processors::memory_limiter::limit_percentage: must be between 0 and 100"));
  EXPECT_THAT(parse("{" + ok + "limit_percentage: 50, spike_limit_percentage: -1}").errors,
              ElementsAre("processors::memory_limiter::spike_limit_percentage: must be between 0 and 100"));
  EXPECT_THAT(parse("{" + ok + "limit_mib: 10, limit_percentage: 50}").errors,
              ElementsAre("processors::memory_limiter::limit_percentage: set either limit_mib or limit_percentage, "
                          "not both"));
  EXPECT_THAT(parse("{" + ok + "limit_mib: 10, spike_limit_mib: 10}").errors,
              ElementsAre("processors::memory_limiter::spike_limit_mib: must be smaller than the limit"));
  EXPECT_THAT(parse("{" + ok + "limit_percentage: 20, spike_limit_percentage: 30}").errors,
              ElementsAre("processors::memory_limiter::spike_limit_percentage: must be smaller than the limit"));
  EXPECT_THAT(parse("{check_interval: 0s, limit_mib: 10}").errors,
              ElementsAre("processors::memory_limiter::check_interval: must be greater than zero (e.g. 1s)"));

  MemoryLimiterConfig c;  // built in code
  c.check_interval = 1s;
  c.limit_mib = 100;
  EXPECT_THAT(c.validate(), IsEmpty());
  c.spike_limit_mib = 100;
  EXPECT_THAT(c.validate(), ElementsAre(ConfigProblem{"spike_limit_mib", "must be smaller than the limit"}));
}

}  // namespace
}  // namespace otlpd
