#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporters/console/console_exporter.h"
#include "support/config_support.h"

namespace otlpd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Parsed<ConsoleExporterFactory> parse(const std::string& yaml) {
  return parse_with(ConsoleExporterFactory(), yaml, "exporters::console");
}

TEST(ConsoleExporterConfig, DefaultsToPrettyJson) {
  auto p = parse("{}");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_TRUE(p.config.pretty);
  EXPECT_EQ(p.config.queue.num_consumers, 1);
  EXPECT_EQ(p.config.queue.queue_size, 1000);
}

TEST(ConsoleExporterConfig, FullConfigParses) {
  auto p = parse("{format: otlp_json, sending_queue: {queue_size: 5, block_on_overflow: true}}");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_FALSE(p.config.pretty);
  EXPECT_EQ(p.config.queue.queue_size, 5);
  EXPECT_TRUE(p.config.queue.block_on_overflow);
}

TEST(ConsoleExporterConfig, EachRuleNamesItsKey) {
  EXPECT_THAT(parse("{format: yaml}").errors,
              ElementsAre("exporters::console::format: 'yaml' is not one of: pretty, otlp_json"));
  EXPECT_THAT(parse("{sending_queue: {queue_size: 0}}").errors,
              ElementsAre("exporters::console::sending_queue::queue_size: must be > 0"));
  EXPECT_THAT(parse("{verbosity: detailed}").errors,
              ElementsAre("exporters::console::verbosity: unknown key (known keys: format, sending_queue)"));
  ConsoleConfig c;
  EXPECT_THAT(c.validate(), IsEmpty());
  c.queue.max_size_mib = 0;
  EXPECT_THAT(c.validate(), ElementsAre(ConfigProblem{"sending_queue::max_size_mib", "must be > 0"}));
}

}  // namespace
}  // namespace otlpd
