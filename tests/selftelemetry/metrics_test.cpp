#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "selftelemetry/metrics.h"
#include "selftelemetry/status.h"
#include "selftelemetry/telemetry_config.h"

namespace otlpd {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const MetricInfo kAccepted{"otelcol_receiver_accepted_spans", "Number of spans successfully pushed into the pipeline."};
const MetricInfo kRss{"otelcol_process_memory_rss", "Total physical memory", MetricInfo::Type::gauge,
                      MetricsLevel::basic, "bytes"};
const MetricInfo kDetailed{"otlpd_detail", "shown at detailed only", MetricInfo::Type::counter, MetricsLevel::detailed};

TEST(MetricsRegistry, CounterIsTheSameForTheSameNameAndLabelsWhateverTheirOrder) {
  MetricsRegistry registry;
  Counter& a = registry.counter(kAccepted, {{"receiver", "otlp"}, {"transport", "grpc"}});
  Counter& b = registry.counter(kAccepted, {{"transport", "grpc"}, {"receiver", "otlp"}});
  Counter& http = registry.counter(kAccepted, {{"receiver", "otlp"}, {"transport", "http"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &http);
  a.add(3);
  b.add(2);
  http.add();
  const std::string text = registry.prometheus_text(MetricsLevel::normal);
  EXPECT_THAT(text, HasSubstr("# HELP otelcol_receiver_accepted_spans Number of spans successfully pushed into the pipeline.\n"
                              "# TYPE otelcol_receiver_accepted_spans counter\n"
                              "otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"grpc\"} 5\n"
                              "otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"http\"} 1\n"));
}

TEST(MetricsRegistry, SuffixesOnlyWhenTheReaderAsksForThem) {
  MetricsRegistry registry;
  registry.counter(kAccepted, {}).add(7);
  auto rss = registry.observe(kRss, {}, [] { return 1048576.0; });
  const std::string plain = registry.prometheus_text(MetricsLevel::basic);
  EXPECT_THAT(plain, HasSubstr("\notelcol_receiver_accepted_spans 7\n"));
  EXPECT_THAT(plain, HasSubstr("\notelcol_process_memory_rss 1048576\n"));
  const std::string suffixed = registry.prometheus_text(MetricsLevel::basic, {.without_type_suffix = false, .without_units = false});
  EXPECT_THAT(suffixed, HasSubstr("# TYPE otelcol_receiver_accepted_spans_total counter\notelcol_receiver_accepted_spans_total 7\n"));
  EXPECT_THAT(suffixed, HasSubstr("# TYPE otelcol_process_memory_rss_bytes gauge\notelcol_process_memory_rss_bytes 1048576\n"));
}

TEST(MetricsRegistry, LevelsHideWhatIsAboveThem) {
  MetricsRegistry registry;
  registry.counter(kAccepted, {}).add();
  registry.counter(kDetailed, {}).add();
  EXPECT_THAT(registry.prometheus_text(MetricsLevel::normal), Not(HasSubstr("otlpd_detail")));
  EXPECT_THAT(registry.prometheus_text(MetricsLevel::detailed), HasSubstr("otlpd_detail 1\n"));
  EXPECT_EQ(registry.prometheus_text(MetricsLevel::none), "");
}

TEST(MetricsRegistry, ObservedSeriesGoAwayWithTheirHandleAndEqualOnesAreSummed) {
  MetricsRegistry registry;
  const MetricInfo queue{"otelcol_exporter_queue_size", "size", MetricInfo::Type::gauge};
  auto old_exporter = registry.observe(queue, {{"exporter", "file"}}, [] { return 2.0; });
  {
    // During a reload the old and the new exporter report at once: one series, their sum.
    auto new_exporter = registry.observe(queue, {{"exporter", "file"}}, [] { return 3.0; });
    EXPECT_THAT(registry.prometheus_text(MetricsLevel::basic), HasSubstr("otelcol_exporter_queue_size{exporter=\"file\"} 5\n"));
  }
  EXPECT_THAT(registry.prometheus_text(MetricsLevel::basic), HasSubstr("otelcol_exporter_queue_size{exporter=\"file\"} 2\n"));
  old_exporter.reset();
  EXPECT_THAT(registry.prometheus_text(MetricsLevel::basic), Not(HasSubstr("otelcol_exporter_queue_size")));
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeWithInfAndSum) {
  MetricsRegistry registry;
  const MetricInfo size{"otelcol_processor_batch_batch_send_size", "Number of units in the batch", MetricInfo::Type::histogram};
  Histogram& h = registry.histogram(size, {{"processor", "batch"}}, {10, 100});
  h.observe(10);   // le=10 is inclusive
  h.observe(11);
  h.observe(5000);
  const std::string text = registry.prometheus_text(MetricsLevel::basic);
  EXPECT_THAT(text, HasSubstr("otelcol_processor_batch_batch_send_size_bucket{processor=\"batch\",le=\"10\"} 1\n"
                              "otelcol_processor_batch_batch_send_size_bucket{processor=\"batch\",le=\"100\"} 2\n"
                              "otelcol_processor_batch_batch_send_size_bucket{processor=\"batch\",le=\"+Inf\"} 3\n"
                              "otelcol_processor_batch_batch_send_size_sum{processor=\"batch\"} 5021\n"
                              "otelcol_processor_batch_batch_send_size_count{processor=\"batch\"} 3\n"));
}

TEST(MetricsRegistry, LabelValuesAreEscapedAndTargetInfoIsWritten) {
  MetricsRegistry registry;
  registry.counter(kAccepted, {{"receiver", "otlp/\"odd\"\\\n"}}).add();
  registry.set_target_info({{"service.name", "otlpd"}, {"service.instance.id", "abc"}});
  const std::string text = registry.prometheus_text(MetricsLevel::basic);
  EXPECT_THAT(text, HasSubstr("{receiver=\"otlp/\\\"odd\\\"\\\\\\n\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE target_info gauge\ntarget_info{service_instance_id=\"abc\",service_name=\"otlpd\"} 1\n"));
  // Prometheus 3 reads OpenTelemetry's dotted names as they are, quoted.
  EXPECT_THAT(registry.prometheus_text(MetricsLevel::basic, {.utf8_names = true}),
              HasSubstr("target_info{\"service.instance.id\"=\"abc\",\"service.name\"=\"otlpd\"} 1\n"));
}

TEST(MetricsRegistry, DetailedLabelsAreSummedAwayBelowDetailed) {
  MetricsRegistry registry;
  MetricInfo failed{"otelcol_exporter_send_failed_spans", "failed"};
  failed.detailed_labels = {"error.type"};
  registry.counter(failed, {{"exporter", "otlp"}, {"error.type", "Unavailable"}}).add(3);
  registry.counter(failed, {{"exporter", "otlp"}, {"error.type", "InvalidArgument"}}).add(2);
  EXPECT_THAT(registry.prometheus_text(MetricsLevel::normal), HasSubstr("\notelcol_exporter_send_failed_spans{exporter=\"otlp\"} 5\n"));
  const std::string detailed = registry.prometheus_text(MetricsLevel::detailed);
  EXPECT_THAT(detailed, HasSubstr("otelcol_exporter_send_failed_spans{error_type=\"InvalidArgument\",exporter=\"otlp\"} 2\n"));
  EXPECT_THAT(detailed, HasSubstr("otelcol_exporter_send_failed_spans{error_type=\"Unavailable\",exporter=\"otlp\"} 3\n"));
}

TEST(MetricsRegistry, MaxMergedGaugesAreNotSummed) {
  MetricsRegistry registry;
  MetricInfo usage{"otlpd_memory_limiter_usage_bytes", "usage", MetricInfo::Type::gauge};
  usage.merge = MetricInfo::Merge::max;
  auto a = registry.observe(usage, {{"processor", "memory_limiter"}}, [] { return 100.0; });
  auto b = registry.observe(usage, {{"processor", "memory_limiter"}}, [] { return 120.0; });
  EXPECT_THAT(registry.prometheus_text(MetricsLevel::basic), HasSubstr("{processor=\"memory_limiter\"} 120\n"));
}

TEST(ComponentStatus, ErrorsKeepTheirStartAndOkClearsThem) {
  StatusRegistry registry;
  auto exporter = registry.add("exporter otlp");
  exporter->ok();
  EXPECT_EQ(registry.components().at(0).health, ComponentStatus::Health::ok);
  exporter->recoverable_error("connection refused");
  const auto since = registry.components().at(0).since;
  exporter->recoverable_error("connection refused again");
  auto view = registry.components().at(0);
  EXPECT_EQ(view.health, ComponentStatus::Health::recoverable_error);
  EXPECT_EQ(view.since, since) << "failing since the first error";
  EXPECT_EQ(view.error, "connection refused again");
  exporter->ok();
  EXPECT_EQ(registry.components().at(0).health, ComponentStatus::Health::ok);
  exporter.reset();
  EXPECT_TRUE(registry.components().empty()) << "a destroyed component is no longer listed";
}

MetricsTelemetryConfig parse(const std::string& yaml, ConfigErrors* errors) {
  ConfigNode node(YAML::Load(yaml), "service::telemetry::metrics", errors);
  return MetricsTelemetryConfig::parse(node);
}

TEST(MetricsTelemetryConfig, DefaultsToLocalhost8888AtNormal) {
  ConfigErrors errors;
  auto c = parse("{}", &errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(c.level, MetricsLevel::normal);
  ASSERT_EQ(c.readers.size(), 1u);
  EXPECT_EQ(c.readers[0].endpoint, "localhost:8888");
}

TEST(MetricsTelemetryConfig, ReadersAddressAndNone) {
  ConfigErrors errors;
  auto c = parse("{level: detailed, readers: [{pull: {exporter: {prometheus: {host: '::1', port: 9999, without_type_suffix: false}}}},"
                 " {pull: {exporter: {prometheus: {port: 0}}}}]}", &errors);
  EXPECT_TRUE(errors.empty()) << errors.joined();
  ASSERT_EQ(c.readers.size(), 2u);
  EXPECT_EQ(c.readers[0].endpoint, "[::1]:9999");
  EXPECT_FALSE(c.readers[0].format.without_type_suffix);
  EXPECT_EQ(c.readers[1].endpoint, "localhost:0") << "never 0.0.0.0 unless configured";
  EXPECT_EQ(parse("{address: '0.0.0.0:7777'}", &errors).readers.at(0).endpoint, "0.0.0.0:7777");
  EXPECT_TRUE(parse("{level: none}", &errors).readers.empty());
  EXPECT_TRUE(errors.empty()) << errors.joined();
}

TEST(MetricsTelemetryConfig, MistakesAreNamed) {
  ConfigErrors errors;
  parse("{level: loud, address: nope, readers: [{periodic: {}}]}", &errors);
  EXPECT_THAT(errors.joined(), HasSubstr("service::telemetry::metrics::level: 'loud' is not one of: none, basic, normal, detailed"));
  EXPECT_THAT(errors.joined(), HasSubstr("service::telemetry::metrics::address: give either address (the older form) or readers"));
  EXPECT_THAT(errors.joined(), HasSubstr("readers::0::periodic: periodic (push) readers are not supported"));
}

}  // namespace
}  // namespace otlpd
