// libFuzzer target: otlpd's gRPC server (net/GrpcServer) on a real loopback connection. Each
// input is what a client sends after HTTP/2's connection preface: frames of any kind, in any
// order (nghttp2 parses them; otlpd's callbacks assemble the calls, check each message's 5-byte
// prefix against the limit, charge the shared memory quota and answer). Then the client ends
// its side and reads until the server closes. Nothing may crash, leak or hang: the server must
// close the connection once the client is done (no connection or call left open) and keep
// accepting. The handler answers every call, some of them later from another thread, and
// takes every message's bytes, so that the deferred-answer path runs too.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "net/grpc_server.h"

using namespace otlpd;

namespace {

constexpr char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Answers the calls it is given later, on its own thread.
class LaterAnswers {
 public:
  LaterAnswers() : thread_([this] { run(); }) {}
  ~LaterAnswers() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  void add(GrpcRespond respond, GrpcStatus status) {
    {
      std::lock_guard lock(mutex_);
      pending_.emplace_back(std::move(respond), std::move(status));
    }
    wake_.notify_one();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || !pending_.empty(); });
      if (pending_.empty()) return;
      auto [respond, status] = std::move(pending_.front());
      pending_.pop_front();
      lock.unlock();
      respond(std::move(status));
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<GrpcRespond, GrpcStatus>> pending_;
  bool stop_ = false;
  std::thread thread_;
};

struct Fixture {
  Fixture() {
    GrpcServerOptions options;
    options.name = "fuzz gRPC server";
    options.endpoint = "127.0.0.1:0";
    options.methods = {"/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                       "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"};
    options.max_message_bytes = 4096;  // small, so that inputs reach past it
    options.memory_quota = 16384;      // four of the largest messages
    options.max_concurrent_streams = 0;
    server = std::make_unique<GrpcServer>(
        options,
        [this](GrpcMessage& message, GrpcRespond respond) {
          // Reads the whole message (ASan checks its bounds); answers by its first byte.
          unsigned sum = message.compressed ? 1 : 0;
          for (const char c : *message.bytes) sum += static_cast<unsigned char>(c);
          const int first = message.bytes->empty() ? 0 : static_cast<unsigned char>((*message.bytes)[0]);
          GrpcStatus status;
          if (first % 4 == 1) status = {GrpcCode::invalid_argument, "bad \x01 message\n" + std::to_string(sum)};
          if (first % 4 == 2) status = {GrpcCode::unavailable, ""};
          if (first % 4 == 3) return later.add(std::move(respond), std::move(status));
          respond(std::move(status));
        },
        std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>()));
    std::string error;
    if (!server->start(&error)) {
      std::fprintf(stderr, "cannot start the server: %s\n", error.c_str());
      std::abort();
    }
  }
  LaterAnswers later;  // before the server: it is destroyed after it
  std::unique_ptr<GrpcServer> server;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) std::abort();
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(fixture.server->bound_port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // The server must answer or close within this: longer means a connection it left hanging.
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // (libFuzzer's timer signal interrupts system calls: a connect then goes on by itself.)
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    int error = errno;
    if (error == EINTR) {
      pollfd p{fd, POLLOUT, 0};
      while (poll(&p, 1, 10'000) < 0 && errno == EINTR) {
      }
      socklen_t length = sizeof error;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    }
    if (error != 0 && error != EINTR) {
      std::fprintf(stderr, "the server stopped accepting: %s\n", std::strerror(error));
      std::abort();
    }
  }
  std::string bytes(kPreface, sizeof kPreface - 1);
  bytes.append(reinterpret_cast<const char*>(data), size);
  // The server may close early (a protocol error): what it did not read is lost, as for a
  // real client.
  for (std::size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;  // libFuzzer's timer signal
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  char buffer[16384];
  for (;;) {
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) break;  // closed by the server
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::fprintf(stderr, "the server left the connection open after the client's end: %s\n", std::strerror(errno));
      std::abort();
    }
  }
  close(fd);
  return 0;
}
