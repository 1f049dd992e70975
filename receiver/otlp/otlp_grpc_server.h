#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "net/grpc_server.h"
#include "net/tcp_listener.h"
#include "pipeline/component.h"
#include "receiver/otlp/otlp_receiver_config.h"
#include "receiver/otlp/receiver_counters.h"

namespace otlpd {

// The memory the receiver's connections may hold in messages being received: 128 MiB, or 32
// messages of max_recv_msg_size_mib if that is more.
std::size_t transport_memory_quota(std::int64_t max_recv_msg_size_mib);

// OTLP/gRPC: TraceService, MetricsService and LogsService Export on one endpoint (net/GrpcServer).
// A service is served only for signals that have a consumer; the others answer UNIMPLEMENTED,
// as in the OpenTelemetry Collector. Messages are taken as bytes, decompressed here when their
// compressed flag is set (bounded by max_recv_msg_size_mib), checked and decoded by otlpd
// itself (see Request::receive).
class OtlpGrpcServer {
 public:
  OtlpGrpcServer(OtlpGrpcConfig config, SignalConsumers consumers, ReceiverCounters* counters,
                 std::shared_ptr<spdlog::logger> logger);
  ~OtlpGrpcServer();

  bool start(std::string* error);
  // Stops accepting calls, waits for calls in flight (they finish handing their data
  // downstream), then returns. Idempotent.
  void shutdown() noexcept;
  // The port actually bound (useful with port 0); 0 before start().
  int bound_port() const { return server_ ? server_->bound_port() : 0; }
  // Told when accepting connections stops working and when it works again (before start()).
  void on_accept_state(TcpListener::OnAcceptState callback) { on_accept_state_ = std::move(callback); }

 private:
  void handle(GrpcMessage& message, GrpcRespond respond) noexcept;

  OtlpGrpcConfig config_;
  SignalConsumers consumers_;  // pipeline entries: owned by the Service, which stops receivers first
  ReceiverCounters* counters_;  // owned by the OtlpReceiver, which outlives this server
  std::vector<Signal> signals_;  // of the server's methods, in order
  std::unique_ptr<GrpcServer> server_;
  TcpListener::OnAcceptState on_accept_state_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace otlpd
