#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "extensions/jaeger_query/jaeger_query_extension.h"
#include "support/config_support.h"

namespace otlpd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Parsed<JaegerQueryExtensionFactory> parse(const std::string& yaml) {
  return parse_with(JaegerQueryExtensionFactory(), yaml, "extensions::jaeger_query");
}

TEST(JaegerQueryConfig, Defaults) {
  auto p = parse("{}");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(p.config.endpoint, "localhost:16686");  // Jaeger's query port
  EXPECT_EQ(p.config.trace_store, "trace_store");
}

TEST(JaegerQueryConfig, FullConfigParses) {
  auto p = parse("{endpoint: '0.0.0.0:16687', trace_store: trace_store/recent}");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(p.config.endpoint, "0.0.0.0:16687");
  EXPECT_EQ(p.config.trace_store, "trace_store/recent");
}

TEST(JaegerQueryConfig, EachRuleNamesItsKey) {
  EXPECT_THAT(parse("{endpoint: ':x'}").errors, ElementsAre("extensions::jaeger_query::endpoint: ':x' is not host:port"));
  std::string why;
  ASSERT_FALSE(ComponentId::parse("9store", &why));
  EXPECT_THAT(parse("{trace_store: 9store}").errors, ElementsAre("extensions::jaeger_query::trace_store: " + why));
  EXPECT_THAT(parse("{store: x}").errors,
              ElementsAre("extensions::jaeger_query::store: unknown key (known keys: endpoint, trace_store)"));
  JaegerQueryConfig c;
  EXPECT_THAT(c.validate(), IsEmpty());
  c.trace_store = "";
  ASSERT_FALSE(ComponentId::parse("", &why));
  EXPECT_THAT(c.validate(), ElementsAre(ConfigProblem{"trace_store", why}));
}

}  // namespace
}  // namespace otlpd
