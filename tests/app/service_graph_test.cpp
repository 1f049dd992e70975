#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "app/factories.h"
#include "app/service.h"
#include "app/service_graph.h"

namespace otlpd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A port that is taken for the whole test (bound and listening): a component that tried to
// bind it would fail.
class TakenPort {
 public:
  TakenPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(::listen(fd_, 1), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~TakenPort() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(ServiceGraph, DescribesTheConfigurationWithoutCreatingAnything) {
  const TakenPort taken;
  const Factories factories = make_factories();
  ConfigErrors errors;
  // The receiver's endpoint is a port already in use: reading the graph binds nothing, so it
  // is a valid graph; only starting its service would fail.
  std::optional<ServiceGraph> graph = ServiceGraph::from_config(YAML::Load(fmt::format(R"(
receivers:
  otlp: {{protocols: {{grpc: {{endpoint: "127.0.0.1:{}"}}}}}}
processors:
  batch: {{send_batch_size: 7}}
exporters:
  nop: {{}}
  debug: {{}}
  trace_store: {{endpoint: "127.0.0.1:0"}}
  file/unused: {{path: /nonexistent-dir/never-opened.jsonl}}
service:
  telemetry: {{logs: {{level: warn}}, metrics: {{level: none}}}}
  pipelines:
    traces: {{receivers: [otlp], processors: [batch], exporters: [nop, trace_store]}}
    logs: {{receivers: [otlp], exporters: [nop, debug]}}
)", taken.port())), factories, &errors);
  ASSERT_TRUE(graph) << errors.joined();
  EXPECT_THAT(errors.all(), IsEmpty());

  ASSERT_EQ(graph->pipelines.size(), 2u);
  EXPECT_EQ(graph->pipelines[0].id, "traces");  // in the document's order
  EXPECT_EQ(graph->pipelines[1].signal, Signal::logs);
  EXPECT_THAT(graph->pipelines[0].processors, ElementsAre("batch"));
  EXPECT_THAT(graph->pipelines[0].exporters, ElementsAre("nop", "trace_store"));
  EXPECT_THAT(graph->pipelines[1].exporters, ElementsAre("nop", "debug"));
  EXPECT_EQ(graph->log_level, spdlog::level::warn);

  EXPECT_TRUE(graph->uses_receiver("otlp"));
  EXPECT_TRUE(graph->uses_processor("batch"));
  EXPECT_TRUE(graph->uses_exporter("debug"));
  EXPECT_FALSE(graph->uses_exporter("file/unused"));
  EXPECT_THAT(graph->exporter_signals("nop"), ElementsAre(Signal::traces, Signal::logs));
  EXPECT_THAT(graph->exporter_signals("trace_store"), ElementsAre(Signal::traces));
  // trace_store's older form (with an endpoint) implies the jaeger_query extension.
  EXPECT_THAT(graph->run_extensions, ElementsAre("jaeger_query/trace_store"));
  ASSERT_EQ(graph->extensions.count("jaeger_query/trace_store"), 1u);
  EXPECT_EQ(graph->extensions.at("jaeger_query/trace_store").factory->type(), "jaeger_query");

  // Creating the components binds nothing either; starting them meets the taken port.
  auto service = Service::create(std::move(*graph), std::make_shared<spdlog::sinks::null_sink_mt>(),
                                 std::make_shared<SelfTelemetry>());
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->log_level(), spdlog::level::warn);
  EXPECT_EQ(service->graph().pipelines.size(), 2u);
  std::string error;
  EXPECT_FALSE(service->start(&error));
  EXPECT_THAT(error, ::testing::HasSubstr(std::to_string(taken.port())));
}

TEST(ServiceGraph, AnInvalidConfigurationGivesNoGraphAndEveryError) {
  const Factories factories = make_factories();
  ConfigErrors errors;
  const auto graph = ServiceGraph::from_config(YAML::Load(R"(
receivers:
  otlp: {protocols: {grpc: {endpoint: "127.0.0.1:0"}}}
exporters:
  nop: {}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [nop, missing]}
    metrics: {receivers: [otlp], exporters: [trace_store]}
)"), factories, &errors);
  EXPECT_FALSE(graph);
  EXPECT_THAT(errors.all(),
              ElementsAre("service::pipelines::traces::exporters: references exporter 'missing', which is not "
                          "configured in exporters",
                          "service::pipelines::metrics::exporters: references exporter 'trace_store', which is not "
                          "configured in exporters"));
}

}  // namespace
}  // namespace otlpd
