#pragma once
// A server of unary gRPC calls: HTTP/2 by nghttp2 (framing, HPACK, flow control, SETTINGS,
// PING, GOAWAY), plain or TLS on Asio, with gRPC's message framing and status trailers on top.
// It is what the OTLP/gRPC receiver listens with.
//
// Each message is bounded as its 5-byte prefix arrives: past `max_message_bytes` the call is
// answered RESOURCE_EXHAUSTED at once (gRPC's own server buffers up to the whole message
// first), and the messages being received on all connections together stay under
// `memory_quota` (past it, UNAVAILABLE: the client retries later). Connections are accepted
// by a TcpListener (it never stops accepting after EMFILE) and shared among `threads` io
// threads; a call's handler runs on its connection's io thread, so a connection reads nothing
// more while its handler runs.
#include <spdlog/logger.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/grpc_status.h"
#include "net/server_tls.h"
#include "net/tcp_listener.h"

namespace otlpd {

// One request message as it arrived.
struct GrpcMessage {
  std::size_t method = 0;     // index into GrpcServerOptions::methods
  bool compressed = false;    // the message's compressed flag
  std::string_view encoding;  // grpc-encoding ("" when absent); valid during the handler call
  std::shared_ptr<std::string> bytes;  // the message without its prefix; the handler may keep it
};

// Answers a call, once, from any thread. OK sends an empty response message (a protobuf message
// with every field unset), then the status.
using GrpcRespond = std::function<void(GrpcStatus status)>;
// Handles one call on the io thread; it may answer at once or keep `respond` and answer later.
using GrpcHandler = std::function<void(GrpcMessage& message, GrpcRespond respond)>;

struct GrpcServerOptions {
  std::string name;      // for logs and errors: "OTLP/gRPC receiver"
  std::string endpoint;  // host:port; ":4317" every interface
  std::optional<ServerTlsConfig> tls;
  std::vector<std::string> methods;  // "/package.Service/Method"; any other answers UNIMPLEMENTED
  std::size_t max_message_bytes = 4 << 20;
  std::size_t memory_quota = std::size_t{128} << 20;
  std::uint32_t max_concurrent_streams = 0;  // per connection; 0: no limit (gRPC's default)
  unsigned threads = 1;
  TcpListener::OnAcceptState on_accept_state;
};

class GrpcServer {
 public:
  GrpcServer(GrpcServerOptions options, GrpcHandler handler, std::shared_ptr<spdlog::logger> logger);
  ~GrpcServer();

  bool start(std::string* error);
  // Stops accepting, tells clients to open no more calls (GOAWAY), gives the calls in flight up
  // to `grace` to arrive and be answered (answers still owed are always waited for), then
  // closes every connection and joins the threads. Idempotent.
  void shutdown(std::chrono::milliseconds grace = std::chrono::seconds(5)) noexcept;
  int bound_port() const { return bound_port_; }
  // "127.0.0.1:4317 and [::1]:4317", for logs.
  std::string addresses() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
  int bound_port_ = 0;
};

}  // namespace otlpd
