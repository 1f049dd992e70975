#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "processors/batch/batch_processor.h"
#include "support/config_support.h"

namespace otlpd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

Parsed<BatchProcessorFactory> parse(const std::string& yaml) {
  return parse_with(BatchProcessorFactory(), yaml, "processors::batch");
}

TEST(BatchProcessorConfig, AbsentKeysTakeOtelcolDefaults) {
  auto p = parse("{}");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(p.config.send_batch_size, 8192);
  EXPECT_EQ(p.config.send_batch_max_size, 0);
  EXPECT_EQ(p.config.timeout, 200ms);
  EXPECT_EQ(p.config.max_pending_items, 0);
  EXPECT_EQ(p.config.pending_limit(), 4u * 8192);  // otlpd: 4 x the larger batch size
  EXPECT_THAT(parse("5").errors, ElementsAre("processors::batch: must be a mapping of keys to values"));
  EXPECT_THAT(parse("").errors, IsEmpty());  // "batch:" with nothing: all defaults
}

TEST(BatchProcessorConfig, FullConfigParses) {
  auto p = parse("{send_batch_size: 100, send_batch_max_size: 500, timeout: 1s, max_pending_items: 7}");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(p.config.send_batch_size, 100);
  EXPECT_EQ(p.config.send_batch_max_size, 500);
  EXPECT_EQ(p.config.timeout, 1s);
  EXPECT_EQ(p.config.max_pending_items, 7);
  EXPECT_EQ(p.config.pending_limit(), 7u);
  BatchProcessorConfig c;
  c.send_batch_size = 100;
  c.send_batch_max_size = 500;
  EXPECT_EQ(c.pending_limit(), 2000u);  // the larger of the two
  EXPECT_THAT(c.validate(), IsEmpty());
}

TEST(BatchProcessorConfig, EachRuleNamesItsKey) {
  EXPECT_THAT(parse("{send_batch_size: -1}").errors, ElementsAre("processors::batch::send_batch_size: must be >= 0"));
  EXPECT_THAT(parse("{send_batch_max_size: -1}").errors,
              ElementsAre("processors::batch::send_batch_max_size: must be >= 0"));
  EXPECT_THAT(parse("{send_batch_size: 100, send_batch_max_size: 10}").errors,
              ElementsAre("processors::batch::send_batch_max_size: must be greater than or equal to send_batch_size"));
  EXPECT_THAT(parse("{timeout: -1s}").errors,
              ElementsAre("processors::batch::timeout: must be a duration such as 200ms, 5s or 1m30s, got '-1s'"));
  EXPECT_THAT(parse("{max_pending_items: -3}").errors, ElementsAre("processors::batch::max_pending_items: must be >= 0"));
  // max == size and max == 0 (no bound) are both fine.
  EXPECT_THAT(parse("{send_batch_size: 10, send_batch_max_size: 10}").errors, IsEmpty());
  EXPECT_THAT(parse("{send_batch_size: 10, send_batch_max_size: 0}").errors, IsEmpty());

  BatchProcessorConfig c;  // built in code: validate() alone
  c.timeout = -1ms;
  c.send_batch_size = 10;
  c.send_batch_max_size = 5;
  EXPECT_THAT(c.validate(),
              ElementsAre(ConfigProblem{"send_batch_max_size", "must be greater than or equal to send_batch_size"},
                          ConfigProblem{"timeout", "must be >= 0"}));
}

TEST(BatchProcessorConfig, TypeErrorsAndUnknownKeysComeFromReading) {
  EXPECT_THAT(parse("{send_batch_size: lots, flush: 1}").errors,
              ElementsAre("processors::batch::send_batch_size: must be an integer, got 'lots'",
                          "processors::batch::flush: unknown key (known keys: max_pending_items, send_batch_max_size, "
                          "send_batch_size, timeout)"));
}

}  // namespace
}  // namespace otlpd
