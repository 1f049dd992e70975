#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include "processors/memory_limiter/memory_limiter_processor.h"

namespace otlpd {
namespace {

using ::testing::HasSubstr;
constexpr std::uint64_t kMiB = 1024 * 1024;

// The process's state of these tests: requests made here are charged to its memory account.
const std::shared_ptr<SelfTelemetry>& telemetry() {
  static const auto t = std::make_shared<SelfTelemetry>();
  return t;
}

CreateSettings settings() {
  CreateSettings s{{"memory_limiter", ""}, std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>()), {}};
  s.telemetry = telemetry();
  return s;
}

class Sink final : public Consumer {
 public:
  ConsumeResult consume(Batch&&) noexcept override {
    ++batches;
    return ConsumeResult::ok();
  }
  int batches = 0;
};

MemoryLimiterConfig hourly() {
  MemoryLimiterConfig c;
  c.check_interval = std::chrono::hours(1);  // samples at start only: the test controls growth
  return c;
}

MemoryLimiterConfig::Limits limits(std::uint64_t limit, std::uint64_t spike) { return {limit, spike}; }

RequestPtr big_request(int spans) {
  otlp::TracesRequest req;
  auto* ss = req.add_resource_spans()->add_scope_spans();
  for (int i = 0; i < spans; ++i) ss->add_spans()->set_name(std::string(1000, 'x'));
  const std::string bytes = req.SerializeAsString();
  std::string error;
  return Request::decode(Signal::traces, bytes.data(), bytes.size(), &error, telemetry()->request_memory);
}

TEST(MemoryLimiter, AdmitsBelowTheLimitAndRefusesAbove) {
  Sink sink;
  const std::uint64_t rss = process_rss_bytes();
  MemoryLimiterProcessor roomy(settings(), hourly(), limits(rss + 512 * kMiB, 64 * kMiB), sink);
  MemoryLimiterProcessor tight(settings(), hourly(), limits(rss / 2, rss / 10), sink);
  std::string error;
  ASSERT_TRUE(roomy.start(&error));
  ASSERT_TRUE(tight.start(&error));
  EXPECT_TRUE(roomy.admit(Signal::traces, 1000).is_ok());
  ConsumeResult refused = tight.admit(Signal::traces, 1000);
  EXPECT_EQ(refused.code, ConsumeResult::Code::retryable);
  EXPECT_THAT(refused.message, HasSubstr("above the memory_limiter's soft limit"));
  EXPECT_EQ(tight.consume(Batch::of(big_request(1))).code, ConsumeResult::Code::retryable);
  EXPECT_TRUE(roomy.consume(Batch::of(big_request(1))).is_ok());
  EXPECT_EQ(sink.batches, 1);
}

TEST(MemoryLimiter, ARequestThatWouldCrossTheHardLimitIsRefusedBeforeDecoding) {
  Sink sink;
  const std::uint64_t rss = process_rss_bytes();
  // 66 MiB crosses the limit on top of what the process uses, and fits under the soft limit
  // (limit - 1 MiB) on its own whatever the process's size: retry later, not too large. (With
  // a spike of 8 MiB and 70 MiB, a test process under 14 MiB got too_large on a fresh machine.)
  MemoryLimiterProcessor limiter(settings(), hourly(), limits(rss + 64 * kMiB, 1 * kMiB), sink);
  std::string error;
  ASSERT_TRUE(limiter.start(&error));
  EXPECT_TRUE(limiter.admit(Signal::traces, 1 * kMiB).is_ok());
  EXPECT_EQ(limiter.admit(Signal::traces, 66 * kMiB).code, ConsumeResult::Code::retryable);
}

TEST(MemoryLimiter, SeesGrowthOfLiveRequestsBetweenSamples) {
  Sink sink;
  const std::uint64_t rss = process_rss_bytes();
  MemoryLimiterProcessor limiter(settings(), hourly(), limits(rss + 40 * kMiB, 10 * kMiB), sink);
  std::string error;
  ASSERT_TRUE(limiter.start(&error));
  EXPECT_TRUE(limiter.admit(Signal::traces, 100).is_ok());
  std::vector<RequestPtr> held;
  for (int i = 0; i < 40 && limiter.admit(Signal::traces, 100).is_ok(); ++i) held.push_back(big_request(1000));
  EXPECT_EQ(limiter.admit(Signal::traces, 100).code, ConsumeResult::Code::retryable);
  EXPECT_GE(held.size(), 20u);  // ~1 MB each: refused once about 30 MB were held
  EXPECT_LE(held.size(), 35u);
  held.clear();  // released: usage falls back without waiting for a sample
  EXPECT_TRUE(limiter.admit(Signal::traces, 100).is_ok());
}

}  // namespace
}  // namespace otlpd
