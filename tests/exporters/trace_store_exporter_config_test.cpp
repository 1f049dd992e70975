#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporters/trace_store/trace_store_exporter.h"
#include "support/config_support.h"

namespace otlpd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Parsed<TraceStoreExporterFactory> parse(const std::string& yaml) {
  return parse_with(TraceStoreExporterFactory(), yaml, "exporters::trace_store");
}

TEST(TraceStoreExporterConfig, Defaults) {
  auto p = parse("{}");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(p.config.endpoint, "localhost:16686");  // Jaeger's query port
  EXPECT_EQ(p.config.max_traces, 10000);
  EXPECT_EQ(p.config.max_memory_mib, 64);
  EXPECT_EQ(p.config.queue.queue_size, 1000);
}

TEST(TraceStoreExporterConfig, FullConfigParsesAndImpliesJaegerQuery) {
  auto p = parse("{endpoint: '0.0.0.0:26686', max_traces: 50, max_memory_mib: 8, sending_queue: {queue_size: 3}}");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(p.config.endpoint, "0.0.0.0:26686");
  EXPECT_EQ(p.config.max_traces, 50);
  EXPECT_EQ(p.config.max_memory_mib, 8);
  EXPECT_EQ(p.config.queue.queue_size, 3);
  const auto implied = TraceStoreExporterFactory().implies(ComponentId{"trace_store", "x"}, p.config);
  ASSERT_TRUE(implied.has_value());
  EXPECT_EQ(implied->type, "jaeger_query");
  EXPECT_EQ(implied->config["endpoint"].as<std::string>(), "0.0.0.0:26686");
  EXPECT_EQ(implied->config["trace_store"].as<std::string>(), "trace_store/x");
  EXPECT_EQ(implied->how_to_write_it, R"(extensions: {jaeger_query: {trace_store: trace_store/x, endpoint: "0.0.0.0:26686"}})");
}

TEST(TraceStoreExporterConfig, EachRuleNamesItsKey) {
  EXPECT_THAT(parse("{endpoint: nowhere}").errors,
              ElementsAre("exporters::trace_store::endpoint: 'nowhere' is not host:port"));
  EXPECT_THAT(parse("{max_traces: 0}").errors, ElementsAre("exporters::trace_store::max_traces: must be >= 1"));
  EXPECT_THAT(parse("{max_memory_mib: 0}").errors, ElementsAre("exporters::trace_store::max_memory_mib: must be >= 1"));
  EXPECT_THAT(parse("{sending_queue: {queue_size: -1}}").errors,
              ElementsAre("exporters::trace_store::sending_queue::queue_size: must be > 0"));
  TraceStoreConfig c;
  EXPECT_THAT(c.validate(), IsEmpty());
  c.max_traces = -1;
  EXPECT_THAT(c.validate(), ElementsAre(ConfigProblem{"max_traces", "must be >= 1"}));
}

}  // namespace
}  // namespace otlpd
