#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pipeline/typed_factory.h"
#include "support/config_support.h"

namespace otlpd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct CountConfig final : ComponentConfig {
  std::int64_t count = 3;
  std::int64_t max = 10;

  ConfigProblems validate() const {
    ConfigProblems problems;
    if (count < 0) problems.push_back({"count", "must be >= 0"});
    if (count > max) problems.push_back({"max", "must be >= count"});
    return problems;
  }
};

class RecordingExporter final : public Exporter {
 public:
  explicit RecordingExporter(std::int64_t value) : count(value) {}
  bool start(std::string*) override { return true; }
  void shutdown() noexcept override {}
  ConsumeResult consume(Batch&&) noexcept override { return ConsumeResult::ok(); }
  std::int64_t count;
};

class CountExporterFactory final : public TypedExporterFactory<CountConfig> {
 public:
  std::string_view type() const override { return "count"; }
  CountConfig parse(ConfigNode& node) const override {
    CountConfig c;
    c.count = node.get_int("count", c.count);
    c.max = node.get_int("max", c.max);
    node.finish();
    return c;
  }
  std::unique_ptr<Exporter> make(const CreateSettings&, const CountConfig& config) const override {
    return std::make_unique<RecordingExporter>(config.count);
  }
  std::optional<ImpliedExtension> implies(const ComponentId& id, const CountConfig& config) const override {
    if (config.count == 0) return std::nullopt;
    return ImpliedExtension{"counter", YAML::Node(), id.str()};
  }
};

TEST(TypedFactory, ParseConfigReadsThenValidatesWithTheComponentsPath) {
  const CountExporterFactory factory;
  auto ok = parse_with(factory, "{count: 5}", "exporters::count");
  EXPECT_THAT(ok.errors, IsEmpty());
  EXPECT_EQ(ok.config.count, 5);
  EXPECT_EQ(ok.config.max, 10);

  auto bad = parse_with(factory, "{count: 11, max: x, extra: 1}", "exporters::count");
  // Reading's errors (types, unknown keys) first, then validate()'s, each with its path.
  EXPECT_THAT(bad.errors, ElementsAre("exporters::count::max: must be an integer, got 'x'",
                                      "exporters::count::extra: unknown key (known keys: count, max)",
                                      "exporters::count::max: must be >= count"));
}

TEST(TypedFactory, CreateAndImpliedExtensionHandTheTypedConfigToTheHooks) {
  const CountExporterFactory factory;
  const ExporterFactory& untyped = factory;
  ConfigErrors errors;
  ConfigNode node(YAML::Load("{count: 7}"), "exporters::count", &errors);
  const std::unique_ptr<ComponentConfig> config = untyped.parse_config(node);
  ASSERT_TRUE(errors.empty()) << errors.joined();
  std::unique_ptr<Exporter> exporter = untyped.create(CreateSettings{}, *config);
  EXPECT_EQ(dynamic_cast<RecordingExporter&>(*exporter).count, 7);
  const auto implied = untyped.implied_extension(ComponentId{"count", "a"}, *config);
  ASSERT_TRUE(implied.has_value());
  EXPECT_EQ(implied->type, "counter");
  EXPECT_EQ(implied->how_to_write_it, "count/a");
}

TEST(ConfigProblems, AddNestedPrefixesKeys) {
  ConfigProblems out{{"endpoint", "bad"}};
  add_nested(out, "sending_queue", {{"queue_size", "must be > 0"}, {"", "whole"}});
  EXPECT_THAT(out, ElementsAre(ConfigProblem{"endpoint", "bad"}, ConfigProblem{"sending_queue::queue_size", "must be > 0"},
                               ConfigProblem{"sending_queue", "whole"}));
  ConfigErrors errors;
  ConfigNode node(YAML::Load("{}"), "exporters::x", &errors);
  node.report(out);
  EXPECT_THAT(errors.all(), ElementsAre("exporters::x::endpoint: bad", "exporters::x::sending_queue::queue_size: must be > 0",
                                        "exporters::x::sending_queue: whole"));
}

}  // namespace
}  // namespace otlpd
