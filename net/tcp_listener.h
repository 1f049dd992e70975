#pragma once
// A listening TCP endpoint with its own accept thread, for servers that take accepted
// connections from outside (the OTLP/gRPC receiver hands them to gRPC). The accept loop never
// gives up: when accept() fails (out of descriptors: EMFILE, ENFILE; or memory), it waits
// 100 ms and accepts again, reporting the failure once and the recovery once.
#include <spdlog/logger.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace otlpd {

class TcpListener {
 public:
  // A new connection (non-blocking, close-on-exec, TCP_NODELAY) and the listening socket it
  // came from; the callee owns `fd`. Called on the accept thread.
  using OnConnection = std::function<void(int fd, int listener_fd)>;
  // Accepting stopped working (with why), or works again (empty why). Called on the accept thread.
  using OnAcceptState = std::function<void(bool accepting, const std::string& why)>;

  // `name` is for logs ("OTLP/gRPC receiver").
  TcpListener(std::string name, std::shared_ptr<spdlog::logger> logger);
  ~TcpListener();

  // Binds every address `host` stands for (localhost: 127.0.0.1 and ::1; "" every
  // interface), on one port (with port 0, the one the first bind got), and listens. No
  // SO_REUSEPORT: a second process on the same port is an error, not a silent share.
  bool bind(const std::string& host, int port, std::string* error);
  // Starts the accept thread.
  void start(OnConnection on_connection, OnAcceptState on_state = nullptr);
  // Stops accepting and closes the listening sockets. Idempotent.
  void stop() noexcept;

  int port() const { return port_; }
  // "127.0.0.1:4317 and [::1]:4317", for logs.
  std::string addresses() const;

 private:
  void run() noexcept;

  std::string name_;
  std::shared_ptr<spdlog::logger> logger_;
  std::vector<int> fds_;
  std::vector<std::string> bound_;
  int port_ = 0;
  int wake_fd_ = -1;  // an eventfd: stop() wakes the accept thread with it
  OnConnection on_connection_;
  OnAcceptState on_state_;
  std::thread thread_;
};

}  // namespace otlpd
