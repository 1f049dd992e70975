#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <spdlog/logger.h>

#include "net/tcp_listener.h"
#include "pipeline/component.h"
#include "receiver/otlp/otlp_receiver_config.h"
#include "receiver/otlp/receiver_counters.h"

namespace otlpd {

// The memory gRPC may use for a receiver's connections (their buffers of messages not yet
// whole): 128 MiB, or 32 messages of max_recv_msg_size_mib if that is more.
std::size_t transport_memory_quota(std::int64_t max_recv_msg_size_mib);

// OTLP/gRPC: TraceService, MetricsService and LogsService Export on one endpoint. A
// service is registered only for signals that have a consumer; the others answer
// UNIMPLEMENTED, as in the OpenTelemetry Collector. Requests are taken as raw bytes, so that
// otlpd checks and decodes them itself (see Request::receive).
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
  int bound_port() const { return bound_port_; }
  // Told when accepting connections stops working and when it works again (before start()).
  void on_accept_state(TcpListener::OnAcceptState callback) { on_accept_state_ = std::move(callback); }

  class Handler;  // checks and forwards one Export call; defined in the .cpp
  class Call;     // one Export call in flight on a completion queue

 private:
  void poll(grpc::ServerCompletionQueue* queue) noexcept;

  OtlpGrpcConfig config_;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<grpc::Service> services_[3];
  std::unique_ptr<grpc::Server> server_;
  // gRPC's asynchronous API: each thread polls its own completion queue and handles the
  // calls that arrive on it inline (no hand-off to another thread).
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  int bound_port_ = 0;
  std::unique_ptr<TcpListener> listener_;  // accepts; gRPC serves what it accepts
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  TcpListener::OnAcceptState on_accept_state_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace otlpd
