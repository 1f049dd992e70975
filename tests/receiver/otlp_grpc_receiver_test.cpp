#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include <mutex>

#include "opentelemetry/proto/collector/logs/v1/logs_service.grpc.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "receiver/otlp/otlp_receiver.h"

namespace otlpd {
namespace {

using ::testing::HasSubstr;
namespace trace_service = opentelemetry::proto::collector::trace::v1;
namespace logs_service = opentelemetry::proto::collector::logs::v1;
namespace metrics_service = opentelemetry::proto::collector::metrics::v1;

// Records what the pipeline would receive; can be told to refuse like a full queue.
class PipelineProbe final : public Consumer {
 public:
  ConsumeResult consume(Batch&& batch) noexcept override {
    std::lock_guard lock(mutex_);
    if (refuse_) return ConsumeResult::retryable("sending queue of exporter file is full");
    batches_.push_back(std::move(batch));
    return ConsumeResult::ok();
  }
  void set_refuse(bool refuse) {
    std::lock_guard lock(mutex_);
    refuse_ = refuse;
  }
  std::vector<Batch> batches() {
    std::lock_guard lock(mutex_);
    return batches_;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    batches_.clear();
  }

 private:
  std::mutex mutex_;
  bool refuse_ = false;
  std::vector<Batch> batches_;
};

class OtlpGrpcReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OtlpReceiverConfig config;
    config.grpc = OtlpGrpcConfig{"127.0.0.1:0", 1, 0, 1};
    CreateSettings settings{{"otlp", ""},
                            std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>()),
                            {Signal::traces, Signal::logs}};
    telemetry_ = settings.telemetry;
    // No metrics pipeline: MetricsService must answer UNIMPLEMENTED.
    receiver_ = std::make_unique<OtlpReceiver>(settings, config,
                                               SignalConsumers{&traces_, nullptr, &logs_});
    std::string error;
    ASSERT_TRUE(receiver_->start(&error)) << error;
    ASSERT_GT(receiver_->grpc_port(), 0);
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(64 << 20);
    channel_ = grpc::CreateCustomChannel(fmt::format("127.0.0.1:{}", receiver_->grpc_port()),
                                         grpc::InsecureChannelCredentials(), args);
  }
  void TearDown() override { receiver_->shutdown(); }

  static trace_service::ExportTraceServiceRequest spans(int n, std::size_t name_size = 4) {
    trace_service::ExportTraceServiceRequest req;
    auto* ss = req.add_resource_spans()->add_scope_spans();
    for (int i = 0; i < n; ++i) {
      auto* s = ss->add_spans();
      s->set_trace_id(std::string(16, '\x01'));
      s->set_span_id(std::string(8, static_cast<char>(i + 1)));
      s->set_name(std::string(name_size, 'n'));
    }
    return req;
  }

  grpc::Status export_traces(const trace_service::ExportTraceServiceRequest& req,
                             bool gzip = false) {
    auto stub = trace_service::TraceService::NewStub(channel_);
    grpc::ClientContext ctx;
    if (gzip) ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    trace_service::ExportTraceServiceResponse resp;
    grpc::Status status = stub->Export(&ctx, req, &resp);
    if (status.ok()) {
      EXPECT_FALSE(resp.has_partial_success());
    }
    return status;
  }

  PipelineProbe traces_, logs_;
  std::shared_ptr<SelfTelemetry> telemetry_;
  std::unique_ptr<OtlpReceiver> receiver_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(OtlpGrpcReceiverTest, AcceptsSpansAndHandsThemOnDecoded) {
  ASSERT_TRUE(export_traces(spans(3)).ok());
  auto batches = traces_.batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].signal, Signal::traces);
  EXPECT_EQ(batches[0].item_count(), 3u);
  EXPECT_EQ(batches[0].requests[0]->traces().resource_spans(0).scope_spans(0).spans(2).span_id(),
            std::string(8, '\x03'));
  EXPECT_EQ(receiver_->grpc_counters().accepted[0]->value(), 3u);
}

// What the requests hold is charged to the process's account while they live.
TEST_F(OtlpGrpcReceiverTest, ChargesWhatRequestsHoldToTheProcesssAccount) {
  EXPECT_EQ(telemetry_->request_memory->bytes(), 0);
  ASSERT_TRUE(export_traces(spans(20, 1000)).ok());
  {
    auto batches = traces_.batches();  // held by the probe (and here)
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_GE(telemetry_->request_memory->bytes(), 20 * 1000);
    EXPECT_EQ(static_cast<std::size_t>(telemetry_->request_memory->bytes()), batches[0].requests[0]->memory_bytes());
    (void)batches[0].requests[0]->traces();  // decoding adds what the decoded form holds
    EXPECT_GT(static_cast<std::size_t>(telemetry_->request_memory->bytes()), batches[0].requests[0]->wire_size());
  }
  traces_.clear();
  EXPECT_EQ(telemetry_->request_memory->bytes(), 0);
}

TEST_F(OtlpGrpcReceiverTest, AcceptsGzip) {
  ASSERT_TRUE(export_traces(spans(50, 1000), /*gzip=*/true).ok());
  ASSERT_EQ(traces_.batches().size(), 1u);
  EXPECT_EQ(traces_.batches()[0].item_count(), 50u);
}

TEST_F(OtlpGrpcReceiverTest, AcceptsDeflate) {
  auto stub = trace_service::TraceService::NewStub(channel_);
  grpc::ClientContext ctx;
  ctx.set_compression_algorithm(GRPC_COMPRESS_DEFLATE);
  trace_service::ExportTraceServiceResponse resp;
  ASSERT_TRUE(stub->Export(&ctx, spans(20, 500), &resp).ok());
  ASSERT_EQ(traces_.batches().size(), 1u);
  EXPECT_EQ(traces_.batches()[0].item_count(), 20u);
}

// otlpd decompresses messages itself and stops at max_recv_msg_size_mib (1 MiB here): 8 MiB
// of zeros, 8 KiB compressed, is refused without being inflated whole, and for good.
TEST_F(OtlpGrpcReceiverTest, AGzipBombIsRefusedAtTheLimit) {
  grpc::Status status = export_traces(spans(1, 8 << 20), /*gzip=*/true);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(), "decompressed message larger than max_recv_msg_size_mib (1048576 bytes)");
  EXPECT_TRUE(traces_.batches().empty());
  ASSERT_TRUE(export_traces(spans(2), /*gzip=*/true).ok());  // the connection still serves
}

TEST_F(OtlpGrpcReceiverTest, EmptyRequestSucceeds) {
  EXPECT_TRUE(export_traces({}).ok());
  EXPECT_TRUE(traces_.batches().empty());
}

TEST_F(OtlpGrpcReceiverTest, InvalidIdIsInvalidArgumentWithThePath) {
  auto req = spans(2);
  req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(1)->set_span_id("abc");
  grpc::Status status = export_traces(req);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("spans[1].span_id: must be 8 bytes or empty, got 3"));
  EXPECT_TRUE(traces_.batches().empty());
  EXPECT_EQ(receiver_->grpc_counters().malformed_requests[0]->value(), 1u);
}

TEST_F(OtlpGrpcReceiverTest, FullPipelineIsUnavailableSoClientsRetry) {
  traces_.set_refuse(true);
  grpc::Status status = export_traces(spans(4));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("is full"));
  EXPECT_EQ(receiver_->grpc_counters().refused[0]->value(), 4u);
  traces_.set_refuse(false);
  EXPECT_TRUE(export_traces(spans(4)).ok());  // and the retry goes through
}

TEST_F(OtlpGrpcReceiverTest, OversizedRequestIsResourceExhaustedAndServerKeepsServing) {
  grpc::Status status = export_traces(spans(1, 2 << 20));  // 2 MiB > max_recv_msg_size_mib 1
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(export_traces(spans(1)).ok());
}

TEST_F(OtlpGrpcReceiverTest, SignalsWithoutPipelineAreUnimplemented) {
  auto stub = metrics_service::MetricsService::NewStub(channel_);
  grpc::ClientContext ctx;
  metrics_service::ExportMetricsServiceResponse resp;
  EXPECT_EQ(stub->Export(&ctx, {}, &resp).error_code(), grpc::StatusCode::UNIMPLEMENTED);

  auto logs = logs_service::LogsService::NewStub(channel_);
  grpc::ClientContext ctx2;
  logs_service::ExportLogsServiceRequest req;
  req.add_resource_logs()->add_scope_logs()->add_log_records()->mutable_body()->set_string_value("hi");
  logs_service::ExportLogsServiceResponse lresp;
  EXPECT_TRUE(logs->Export(&ctx2, req, &lresp).ok());
  EXPECT_EQ(logs_.batches().size(), 1u);
}

TEST(OtlpReceiverLifecycle, ShutdownWithoutStartAndTwiceIsSafe) {
  OtlpReceiverConfig config;
  config.grpc = OtlpGrpcConfig{"127.0.0.1:0", 4, 0, 1};
  CreateSettings settings{{"otlp", ""}, std::make_shared<spdlog::logger>("t"), {}};
  PipelineProbe probe;
  OtlpReceiver receiver(settings, config, SignalConsumers{&probe, nullptr, nullptr});
  receiver.shutdown();
  receiver.shutdown();
}

TEST(OtlpReceiverLifecycle, PortInUseIsAClearError) {
  CreateSettings settings{{"otlp", ""}, std::make_shared<spdlog::logger>("t"), {}};
  PipelineProbe probe;
  OtlpReceiverConfig config;
  config.grpc = OtlpGrpcConfig{"127.0.0.1:0", 4, 0, 1};
  OtlpReceiver first(settings, config, SignalConsumers{&probe, nullptr, nullptr});
  std::string error;
  ASSERT_TRUE(first.start(&error)) << error;
  config.grpc->endpoint = fmt::format("127.0.0.1:{}", first.grpc_port());
  OtlpReceiver second(settings, config, SignalConsumers{&probe, nullptr, nullptr});
  EXPECT_FALSE(second.start(&error));
  EXPECT_THAT(error, HasSubstr("cannot listen for OTLP/gRPC receiver on 127.0.0.1:"));
  EXPECT_THAT(error, HasSubstr("Address already in use"));
}

}  // namespace
}  // namespace otlpd
