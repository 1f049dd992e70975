#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "config/config_loader.h"
#include "config/config_node.h"

namespace otlpd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

YAML::Node load(std::string_view text, const EnvLookup& env) {
  std::string error;
  auto node = load_config({{std::string("yaml:") + std::string(text)}, {}}, env, &error);
  EXPECT_TRUE(node.has_value()) << error;
  return node.value_or(YAML::Node());
}

TEST(EnvExpansion, WholeReferenceIsTypedAndSplicedReferenceIsText) {
  auto env = fake_env({{"PORT", "4317"}, {"HOST", "collector"}, {"TOKEN", "s3cret"}});
  YAML::Node n = load(R"(
a: ${env:PORT}
b: ${HOST}:${env:PORT}
c: "Bearer ${env:TOKEN}"
d: ${env:MISSING:-fallback}
e: ${env:MISSING}
f: cost $$5
)", env);
  EXPECT_EQ(n["a"].as<int>(), 4317);
  EXPECT_EQ(n["b"].as<std::string>(), "collector:4317");
  EXPECT_EQ(n["c"].as<std::string>(), "Bearer s3cret");
  EXPECT_EQ(n["d"].as<std::string>(), "fallback");
  EXPECT_EQ(n["e"].as<std::string>(), "");
  EXPECT_EQ(n["f"].as<std::string>(), "cost $5");
}

TEST(EnvExpansion, DefaultOnlyWhenUnset) {
  YAML::Node n = load("a: ${env:EMPTY:-dflt}\n", fake_env({{"EMPTY", ""}}));
  EXPECT_EQ(n["a"].as<std::string>(), "");
}

TEST(EnvExpansion, UnknownSchemeAndUnterminatedAreErrors) {
  std::string error;
  EXPECT_FALSE(load_config({{"yaml:a: ${file:/etc/passwd}"}, {}}, fake_env({}), &error));
  EXPECT_THAT(error, HasSubstr("unsupported config provider 'file'"));
  EXPECT_FALSE(load_config({{"yaml:a: ${env:X"}, {}}, fake_env({}), &error));
  EXPECT_THAT(error, HasSubstr("unterminated"));
}

TEST(Loading, LaterFilesMergeOverEarlierAndSetOverridesLast) {
  std::string error;
  ConfigSources sources{
      {"yaml:{exporters: {file: {path: a.jsonl, format: json}}, list: [1, 2]}",
       "yaml:{exporters: {file: {path: b.jsonl}}, list: [3]}"},
      {"exporters::file::format=proto", "service.telemetry.logs.level=debug"}};
  auto n = load_config(sources, fake_env({}), &error);
  ASSERT_TRUE(n) << error;
  EXPECT_EQ((*n)["exporters"]["file"]["path"].as<std::string>(), "b.jsonl");
  EXPECT_EQ((*n)["exporters"]["file"]["format"].as<std::string>(), "proto");
  EXPECT_EQ((*n)["list"].size(), 1u);
  EXPECT_EQ((*n)["service"]["telemetry"]["logs"]["level"].as<std::string>(), "debug");
}

TEST(Loading, MissingFileAndBadYamlNameTheProblem) {
  std::string error;
  EXPECT_FALSE(load_config({{"/nonexistent/otlpd.yaml"}, {}}, fake_env({}), &error));
  EXPECT_THAT(error, HasSubstr("/nonexistent/otlpd.yaml"));
  EXPECT_FALSE(load_config({{"yaml:a: [1, 2"}, {}}, fake_env({}), &error));
  EXPECT_THAT(error, HasSubstr("invalid YAML at line"));
}

TEST(ConfigNodeTest, ReportsEveryErrorWithItsPath) {
  ConfigErrors errors;
  YAML::Node yaml = YAML::Load(R"(
timeout: 5 parsecs
count: many
flag: perhaps
format: xml
nested: {known: 1, typo: 2}
extra: 1
)");
  ConfigNode node(yaml, "exporters::file", &errors);
  node.get_duration("timeout", std::chrono::seconds(1));
  node.get_int("count", 0);
  node.get_bool("flag", false);
  node.get_enum("format", "json", {"json", "proto"});
  ConfigNode nested = node.child("nested");
  nested.get_int("known", 0);
  nested.finish();
  node.finish();
  EXPECT_THAT(errors.all(),
              ElementsAre(HasSubstr("exporters::file::timeout: must be a duration"),
                          HasSubstr("exporters::file::count: must be an integer, got 'many'"),
                          HasSubstr("exporters::file::flag: must be true or false"),
                          HasSubstr("exporters::file::format: 'xml' is not one of: json, proto"),
                          "exporters::file::nested::typo: unknown key (known keys: known)",
                          HasSubstr("exporters::file::extra: unknown key (known keys: count, "
                                    "flag, format, nested, timeout)")));
}

TEST(ConfigNodeTest, AbsentKeysTakeDefaults) {
  ConfigErrors errors;
  ConfigNode node(YAML::Load("{}"), "x", &errors);
  EXPECT_EQ(node.get_int("n", 7), 7);
  EXPECT_EQ(node.get_string("s", "d"), "d");
  EXPECT_EQ(node.get_duration("t", std::chrono::milliseconds(200)).count(), 200);
  node.finish();
  EXPECT_TRUE(errors.empty());
}

TEST(Duration, ParsesGoDurations) {
  using namespace std::chrono;
  EXPECT_EQ(parse_duration("200ms"), milliseconds(200));
  EXPECT_EQ(parse_duration("1m30s"), seconds(90));
  EXPECT_EQ(parse_duration("1.5s"), milliseconds(1500));
  EXPECT_EQ(parse_duration("0"), nanoseconds(0));
  EXPECT_FALSE(parse_duration("5"));
  EXPECT_FALSE(parse_duration("1.2.3s"));  // std::stold read "1.2" and ignored the rest
  EXPECT_EQ(parse_duration(".5s"), milliseconds(500));
  EXPECT_FALSE(parse_duration("5 s"));
  EXPECT_FALSE(parse_duration("s"));
}

}  // namespace
}  // namespace otlpd
