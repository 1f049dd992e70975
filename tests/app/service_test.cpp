#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include "app/factories.h"
#include "app/service.h"

namespace otlpd {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Factories factories() { return make_factories(); }

std::vector<std::string> errors_of(const std::string& yaml) {
  ConfigErrors errors;
  auto service = Service::build(YAML::Load(yaml), factories(),
                                std::make_shared<spdlog::sinks::null_sink_mt>(), std::make_shared<SelfTelemetry>(), &errors);
  EXPECT_EQ(service == nullptr, !errors.empty());
  return errors.all();
}

TEST(ServiceConfig, ValidConfigWithNamedPipelinesBuilds) {
  EXPECT_THAT(errors_of(R"(
receivers:
  otlp: {protocols: {grpc: {endpoint: "127.0.0.1:0"}}}
  otlp/second: {protocols: {grpc: {endpoint: "127.0.0.1:0", max_recv_msg_size_mib: 16}}}
exporters:
  debug: {verbosity: detailed}
  file/spans: {path: /tmp/otlpd-test-unused.jsonl, rotation: {max_megabytes: 10}}
service:
  telemetry: {logs: {level: debug}}
  pipelines:
    traces: {receivers: [otlp, otlp/second], exporters: [debug, file/spans]}
    traces/2: {receivers: [otlp], exporters: [debug]}
    logs: {receivers: [otlp], exporters: [debug]}
)"),
              IsEmpty());
}

TEST(ServiceConfig, EveryMistakeIsReportedWithItsExactPath) {
  auto errors = errors_of(R"(
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "localhost", max_recv_msg_size_mib: 0, bogus: 1}
  kafka: {}
processors:
  batch: {send_batch_size: 100, send_batch_max_size: 10}
  memory_limiter: {limit_mib: 100}
  transform: {}
exporters:
  file: {format: xml, rotation: {max_megabytes: 0}}
  "bad type!": {}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [file, jaeger]}
    spans: {receivers: [otlp], exporters: [file]}
    logs: {receivers: [], exporters: [file]}
unknown_section: {}
)");
  EXPECT_THAT(errors, Contains("receivers::otlp::protocols::grpc::endpoint: 'localhost' is not host:port"));
  EXPECT_THAT(errors, Contains("receivers::otlp::protocols::grpc::max_recv_msg_size_mib: must be between 1 and 2047"));
  EXPECT_THAT(errors, Contains(HasSubstr("receivers::otlp::protocols::grpc::bogus: unknown key (known keys: endpoint, ")));
  EXPECT_THAT(errors, Contains("receivers::kafka: unknown receiver type 'kafka' (known types: otlp)"));
  EXPECT_THAT(errors, Contains("processors::batch::send_batch_max_size: must be greater than or equal to send_batch_size"));
  EXPECT_THAT(errors, Contains("processors::memory_limiter::check_interval: must be greater than zero (e.g. 1s)"));
  EXPECT_THAT(errors, Contains("processors::transform: unknown processor type 'transform' (known types: batch, memory_limiter)"));
  EXPECT_THAT(errors, Contains("exporters::file::path: is required (the file to write to)"));
  EXPECT_THAT(errors, Contains("exporters::file::format: 'xml' is not one of: json, proto"));
  EXPECT_THAT(errors, Contains("exporters::file::rotation::max_megabytes: must be > 0"));
  EXPECT_THAT(errors, Contains(HasSubstr("exporters::bad type!: 'bad type!': invalid component type")));
  EXPECT_THAT(errors, Contains("service::pipelines::traces::exporters: references exporter 'jaeger', which is not configured in exporters"));
  EXPECT_THAT(errors, Contains(HasSubstr("service::pipelines::spans: invalid pipeline id 'spans'")));
  EXPECT_THAT(errors, Contains("service::pipelines::logs::receivers: a pipeline needs at least one receiver"));
  EXPECT_THAT(errors, Contains(HasSubstr("unknown_section: unknown key (known keys: connectors, exporters, extensions, processors, receivers, service)")));
}

TEST(ServiceConfig, UnknownExporterListsKnownTypes) {
  EXPECT_THAT(errors_of(R"(
receivers: {otlp: {protocols: {grpc: {}}}}
exporters: {zipkin: {}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [zipkin]}}}
)"),
              Contains("exporters::zipkin: unknown exporter type 'zipkin' (known types: debug, console, file, nop, otlp_grpc, otlp, otlp_http, otlphttp, jaeger, trace_store)"));
}

TEST(ServiceConfig, TwoFactoriesOfOneTypeAreAnError) {
  Factories twice = make_factories();
  for (Factories f = make_factories(); auto& exporter : f.exporters) {
    if (exporter->type() == "debug") twice.exporters.push_back(std::move(exporter));
  }
  ConfigErrors errors;
  auto service = Service::build(YAML::Load(R"(
receivers: {otlp: {protocols: {grpc: {endpoint: "127.0.0.1:0"}}}}
exporters: {nop: {}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [nop]}}}
)"),
                                twice, std::make_shared<spdlog::sinks::null_sink_mt>(), std::make_shared<SelfTelemetry>(),
                                &errors);
  EXPECT_EQ(service, nullptr);
  EXPECT_THAT(errors.all(), Contains(HasSubstr("two exporter factories have the type 'debug'")));
}

TEST(ServiceConfig, NoPipelinesIsAnError) {
  EXPECT_THAT(errors_of("receivers: {otlp: {protocols: {grpc: {}}}}\n"),
              Contains(HasSubstr("service::pipelines: at least one pipeline is required")));
}

TEST(ServiceConfig, ExtensionsAreARealSection) {
  const std::string pipeline = R"(
receivers: {otlp: {protocols: {grpc: {endpoint: "127.0.0.1:0"}}}}
exporters: {debug: {}}
)";
  EXPECT_THAT(errors_of(pipeline + R"(
extensions: {zpages: {}, health_check: {endpoint: "127.0.0.1:0"}}
service:
  extensions: [health_check, pprof, health_check]
  pipelines: {traces: {receivers: [otlp], exporters: [debug]}}
)"),
              ::testing::AllOf(Contains(HasSubstr("extensions::zpages: unknown extension type 'zpages' (known types: health_check, file_storage, jaeger_query)")),
                               Contains(HasSubstr("service::extensions: references extension 'pprof', which is not configured")),
                               Contains(HasSubstr("service::extensions: lists 'health_check' twice"))));
  EXPECT_THAT(errors_of(pipeline + R"(
extensions: {health_check: {endpoint: "127.0.0.1:0"}}
service:
  extensions: [health_check]
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [otlp], exporters: [debug]}}
)"),
              IsEmpty());
}

TEST(ServiceLifecycle, ShutdownWithoutStartIsSafe) {
  ConfigErrors errors;
  auto service = Service::build(YAML::Load(R"(
receivers: {otlp: {protocols: {grpc: {endpoint: "127.0.0.1:0"}}}}
exporters: {debug: {}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}
)"),
                                factories(), std::make_shared<spdlog::sinks::null_sink_mt>(), std::make_shared<SelfTelemetry>(), &errors);
  ASSERT_TRUE(service) << errors.joined();
  service->shutdown();
  service->shutdown();
}

}  // namespace
}  // namespace otlpd
