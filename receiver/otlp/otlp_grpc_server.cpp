#include "receiver/otlp/otlp_grpc_server.h"

#include <fmt/format.h>

#include <algorithm>

#include "receiver/otlp/grpc_message.h"
#include "receiver/otlp/ingest.h"

namespace otlpd {
namespace {

constexpr const char* kMethods[3] = {
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
};

// What the client hears for a result.
GrpcStatus status_of(const ConsumeResult& result) {
  switch (result.code) {
    case ConsumeResult::Code::ok: return {};
    case ConsumeResult::Code::retryable: return {GrpcCode::unavailable, result.message};
    // Permanent: no RetryInfo, so a client following the OTLP specification does not retry.
    case ConsumeResult::Code::too_large: return {GrpcCode::resource_exhausted, result.message};
    case ConsumeResult::Code::invalid:
    case ConsumeResult::Code::permanent: return {GrpcCode::invalid_argument, result.message};
  }
  return {};
}

}  // namespace

std::size_t transport_memory_quota(std::int64_t max_recv_msg_size_mib) {
  return static_cast<std::size_t>(std::max<std::int64_t>(128, 32 * max_recv_msg_size_mib)) << 20;
}

OtlpGrpcServer::OtlpGrpcServer(OtlpGrpcConfig config, SignalConsumers consumers, ReceiverCounters* counters,
                               std::shared_ptr<spdlog::logger> logger)
    : config_(std::move(config)), consumers_(consumers), counters_(counters), logger_(std::move(logger)) {}

OtlpGrpcServer::~OtlpGrpcServer() { shutdown(); }

void OtlpGrpcServer::handle(GrpcMessage& message, GrpcRespond respond) noexcept {
  const Signal signal = signals_[message.method];
  WireBytes bytes;
  if (message.compressed) {
    auto plain = std::make_shared<std::string>();
    const std::size_t limit = static_cast<std::size_t>(config_.max_recv_msg_size_mib) << 20;
    GrpcStatus status = decompress_grpc_message(message.encoding, *message.bytes, limit, plain.get());
    message.bytes.reset();  // the compressed bytes go before the request is handed on
    if (!status.ok()) return respond(std::move(status));
    bytes = WireBytes{reinterpret_cast<const std::uint8_t*>(plain->data()), plain->size(), plain};
  } else {
    // Kept alive by the request, for lazy decoding and byte forwarding.
    const std::string& body = *message.bytes;
    bytes = WireBytes{reinterpret_cast<const std::uint8_t*>(body.data()), body.size(), std::move(message.bytes)};
  }
  ConsumeResult result = ingest(signal, std::move(bytes), *consumer_for(consumers_, signal), *counters_, *logger_);
  if (result.is_ok() && result.pending) {
    // Answered when the disk has it, from the thread that syncs; this thread goes on reading,
    // so that other calls share the same fdatasync.
    result.pending->then([respond = std::move(respond)](ConsumeResult done) { respond(status_of(done)); });
    return;
  }
  respond(status_of(result));
}

bool OtlpGrpcServer::start(std::string* error) {
  GrpcServerOptions options;
  options.name = "OTLP/gRPC receiver";
  options.endpoint = config_.endpoint;
  options.tls = config_.tls;
  for (Signal s : kAllSignals) {
    if (!consumer_for(consumers_, s)) continue;
    options.methods.emplace_back(kMethods[static_cast<std::size_t>(s)]);
    signals_.push_back(s);
  }
  options.max_message_bytes = static_cast<std::size_t>(config_.max_recv_msg_size_mib) << 20;
  options.memory_quota = transport_memory_quota(config_.max_recv_msg_size_mib);
  options.max_concurrent_streams = static_cast<std::uint32_t>(config_.max_concurrent_streams);
  options.threads = static_cast<unsigned>(std::max<std::int64_t>(1, config_.num_threads));
  options.on_accept_state = on_accept_state_;
  server_ = std::make_unique<GrpcServer>(
      std::move(options), [this](GrpcMessage& message, GrpcRespond respond) { handle(message, std::move(respond)); },
      logger_);
  if (!server_->start(error)) {
    server_.reset();
    return false;
  }
  logger_->info("OTLP/gRPC receiver listening on {}{}", server_->addresses(), config_.tls ? " (TLS)" : "");
  return true;
}

void OtlpGrpcServer::shutdown() noexcept {
  if (server_) server_->shutdown();
}

}  // namespace otlpd
