#include "receiver/otlp/otlp_grpc_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "opentelemetry/proto/collector/logs/v1/logs_service.grpc.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

namespace otlpd {
namespace {

namespace collector = opentelemetry::proto::collector;

// Why a listen failed, in words: gRPC only reports that it did. Tries the same bind.
std::string explain_bind_failure(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* result = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &result);
      rc != 0) {
    return fmt::format("cannot resolve host '{}': {}", host, gai_strerror(rc));
  }
  std::string why = "gRPC could not bind the address";
  for (addrinfo* ai = result; ai; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) why = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(result);
  return why;
}

}  // namespace

// Decodes each Export call once and hands it to the signal's consumer.
class OtlpGrpcServer::Handler {
 public:
  Handler(SignalConsumers consumers, ReceiverCounters* counters,
          std::shared_ptr<spdlog::logger> logger)
      : consumers_(consumers), counters_(counters), logger_(std::move(logger)) {}

  grpc::Status handle(Signal signal, const grpc::ByteBuffer& in, grpc::ByteBuffer* out) noexcept {
    const auto index = static_cast<std::size_t>(signal);
    Consumer* consumer = consumer_for(consumers_, signal);
    // Ask the pipeline first, so a full or over-budget pipeline costs no decoding.
    if (ConsumeResult admitted = consumer->admit(signal, in.Length()); !admitted.is_ok()) {
      counters_->refused_requests[index].fetch_add(1, std::memory_order_relaxed);
      return to_status(admitted);
    }
    grpc::Slice slice;
    if (!in.DumpToSingleSlice(&slice).ok()) {
      return {grpc::StatusCode::INTERNAL, "could not read the request body"};
    }
    std::string error;
    RequestPtr request = Request::decode(signal, slice.begin(), slice.size(), &error);
    if (!request) {
      counters_->malformed_requests[index].fetch_add(1, std::memory_order_relaxed);
      logger_->debug("rejected malformed {} request ({} bytes): {}", to_string(signal),
                     slice.size(), error);
      return {grpc::StatusCode::INVALID_ARGUMENT, error};
    }
    const std::size_t items = request->item_count();
    if (items > 0) {
      ConsumeResult result = consumer->consume(Batch::of(std::move(request)));
      if (!result.is_ok()) {
        counters_->refused[index].fetch_add(items, std::memory_order_relaxed);
        return to_status(result);
      }
      counters_->accepted[index].fetch_add(items, std::memory_order_relaxed);
    }
    // Full success: an empty Export*ServiceResponse (partial_success unset) is zero bytes.
    grpc::Slice empty;
    *out = grpc::ByteBuffer(&empty, 1);
    return grpc::Status::OK;
  }

 private:
  // Retryable refusals become UNAVAILABLE, so that every OTLP client retries them.
  static grpc::Status to_status(const ConsumeResult& result) {
    return {result.code == ConsumeResult::Code::retryable ? grpc::StatusCode::UNAVAILABLE
                                                         : grpc::StatusCode::INVALID_ARGUMENT,
            result.message};
  }

  SignalConsumers consumers_;
  ReceiverCounters* counters_;
  std::shared_ptr<spdlog::logger> logger_;
};

namespace {

template <typename GeneratedService, Signal kSignal>
class ExportService final
    : public GeneratedService::template WithRawCallbackMethod_Export<typename GeneratedService::Service> {
 public:
  explicit ExportService(OtlpGrpcServer::Handler* handler) : handler_(handler) {}

  grpc::ServerUnaryReactor* Export(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(handler_->handle(kSignal, *request, response));
    return reactor;
  }

 private:
  OtlpGrpcServer::Handler* handler_;
};

}  // namespace

OtlpGrpcServer::OtlpGrpcServer(OtlpGrpcConfig config, SignalConsumers consumers,
                               ReceiverCounters* counters, std::shared_ptr<spdlog::logger> logger)
    : config_(std::move(config)),
      handler_(std::make_unique<Handler>(consumers, counters, logger)),
      logger_(std::move(logger)) {
  if (consumer_for(consumers, Signal::traces)) {
    services_[0] = std::make_unique<ExportService<collector::trace::v1::TraceService, Signal::traces>>(
        handler_.get());
  }
  if (consumer_for(consumers, Signal::metrics)) {
    services_[1] =
        std::make_unique<ExportService<collector::metrics::v1::MetricsService, Signal::metrics>>(
            handler_.get());
  }
  if (consumer_for(consumers, Signal::logs)) {
    services_[2] = std::make_unique<ExportService<collector::logs::v1::LogsService, Signal::logs>>(
        handler_.get());
  }
}

OtlpGrpcServer::~OtlpGrpcServer() { shutdown(); }

bool OtlpGrpcServer::start(std::string* error) {
  std::string host;
  int port = 0;
  if (!split_endpoint(config_.endpoint, &host, &port)) {
    *error = fmt::format("invalid endpoint '{}'", config_.endpoint);
    return false;
  }
  // ":4317" means every interface, as in otelcol.
  const std::string address = host.empty() ? fmt::format("0.0.0.0:{}", port) : config_.endpoint;

  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &bound_port_);
  // gRPC sets SO_REUSEPORT by default: a second collector on the same port would then start
  // "successfully" and take half of the traffic. A port conflict must be an error instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.max_recv_msg_size_mib * 1024 * 1024));
  if (config_.max_concurrent_streams > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                               static_cast<int>(config_.max_concurrent_streams));
  }
  for (auto& service : services_) {
    if (service) builder.RegisterService(service.get());
  }
  server_ = builder.BuildAndStart();
  if (!server_ || bound_port_ == 0) {
    *error = fmt::format("cannot listen for OTLP/gRPC on {}: {}", address,
                         explain_bind_failure(host, port));
    server_.reset();
    bound_port_ = 0;
    return false;
  }
  const std::string shown_host = host.empty() ? "0.0.0.0" : host;
  logger_->info("OTLP/gRPC receiver listening on {}:{}", shown_host, bound_port_);
  return true;
}

void OtlpGrpcServer::shutdown() noexcept {
  if (!server_) return;
  // In-flight calls get a grace period to hand their data on; new calls are refused.
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server_->Wait();
  server_.reset();
}

}  // namespace otlpd
