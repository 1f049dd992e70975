#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spdlog/sinks/null_sink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <mutex>

#include "app/factories.h"
#include "app/service.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

// Data sent through a built Service, over a real gRPC socket: receiver -> batch -> fan-out ->
// two exporters, checked item by item at both ends.
namespace otlpd {
namespace {

namespace trace_service = opentelemetry::proto::collector::trace::v1;
namespace logs_service = opentelemetry::proto::collector::logs::v1;

// What each "capture" exporter received, by id (the test reads it after the service stopped).
struct Captured {
  std::mutex mutex;
  std::map<std::string, std::vector<std::string>> items;  // exporter id -> "signal:name" in order
};
Captured& captured() {
  static Captured c;
  return c;
}

class CaptureExporter final : public Exporter {
 public:
  explicit CaptureExporter(std::string id) : id_(std::move(id)) {}
  bool start(std::string*) override { return true; }
  void shutdown() noexcept override {}
  ConsumeResult consume(Batch&& batch) noexcept override {
    std::lock_guard lock(captured().mutex);
    auto& items = captured().items[id_];
    for (const RequestPtr& r : batch.requests) {
      if (batch.signal == Signal::traces) {
        for (const auto& rs : r->traces().resource_spans())
          for (const auto& ss : rs.scope_spans())
            for (const auto& span : ss.spans()) items.push_back("span:" + span.name());
      } else if (batch.signal == Signal::logs) {
        for (const auto& rl : r->logs().resource_logs())
          for (const auto& sl : rl.scope_logs())
            for (const auto& log : sl.log_records()) items.push_back("log:" + log.body().string_value());
      }
    }
    return ConsumeResult::ok();
  }

 private:
  std::string id_;
};

class CaptureExporterFactory final : public ExporterFactory {
 public:
  std::string_view type() const override { return "capture"; }
  std::unique_ptr<ComponentConfig> parse_config(ConfigNode& node) const override {
    node.finish();
    return std::make_unique<ComponentConfig>();
  }
  std::unique_ptr<Exporter> create(const CreateSettings& settings, const ComponentConfig&) const override {
    return std::make_unique<CaptureExporter>(settings.id.str());
  }
};

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(ServicePipeline, ReceiverBatchFanOutToTwoExportersItemByItem) {
  Factories factories = make_factories();
  factories.exporters.push_back(std::make_unique<CaptureExporterFactory>());
  const int port = free_port();
  ASSERT_GT(port, 0);
  ConfigErrors errors;
  auto service = Service::build(YAML::Load(fmt::format(R"(
receivers:
  otlp: {{protocols: {{grpc: {{endpoint: "127.0.0.1:{}"}}}}}}
processors:
  batch: {{send_batch_size: 7, timeout: 20ms}}
exporters:
  capture/a: {{}}
  capture/b: {{}}
service:
  telemetry: {{metrics: {{level: none}}}}  # (its default port, 8888, may be another test's)
  pipelines:
    traces: {{receivers: [otlp], processors: [batch], exporters: [capture/a, capture/b]}}
    logs: {{receivers: [otlp], exporters: [capture/b]}}
)",
                                                       port)),
                                factories, std::make_shared<spdlog::sinks::null_sink_mt>(),
                                std::make_shared<SelfTelemetry>(), &errors);
  ASSERT_TRUE(service) << errors.joined();
  std::string error;
  ASSERT_TRUE(service->start(&error)) << error;

  auto channel = grpc::CreateChannel(fmt::format("127.0.0.1:{}", port), grpc::InsecureChannelCredentials());
  auto traces = trace_service::TraceService::NewStub(channel);
  auto logs = logs_service::LogsService::NewStub(channel);
  std::vector<std::string> sent_spans, sent_logs;
  for (int r = 0; r < 6; ++r) {
    trace_service::ExportTraceServiceRequest request;
    auto* ss = request.add_resource_spans()->add_scope_spans();
    for (int i = 0; i < 3; ++i) {
      auto* span = ss->add_spans();
      span->set_name(fmt::format("request {} span {}", r, i));
      span->set_trace_id(std::string(16, static_cast<char>(r + 1)));
      span->set_span_id(std::string(8, static_cast<char>(i + 1)));
      sent_spans.push_back("span:" + span->name());
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    context.set_wait_for_ready(true);
    trace_service::ExportTraceServiceResponse response;
    const grpc::Status status = traces->Export(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();

    logs_service::ExportLogsServiceRequest log_request;
    auto* record = log_request.add_resource_logs()->add_scope_logs()->add_log_records();
    record->mutable_body()->set_string_value(fmt::format("log {}", r));
    sent_logs.push_back("log:" + record->body().string_value());
    grpc::ClientContext log_context;
    log_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    logs_service::ExportLogsServiceResponse log_response;
    const grpc::Status log_status = logs->Export(&log_context, log_request, &log_response);
    ASSERT_TRUE(log_status.ok()) << log_status.error_message();
  }
  service->shutdown();  // drains the batch processor into the exporters

  std::lock_guard lock(captured().mutex);
  EXPECT_EQ(captured().items["capture/a"], sent_spans);  // the traces pipeline only
  std::vector<std::string> b = captured().items["capture/b"];
  std::vector<std::string> b_spans, b_logs;
  for (const auto& item : b) (item.rfind("span:", 0) == 0 ? b_spans : b_logs).push_back(item);
  EXPECT_EQ(b_spans, sent_spans);  // the same spans, through the fan-out
  EXPECT_EQ(b_logs, sent_logs);    // and the logs pipeline, straight
}

}  // namespace
}  // namespace otlpd
