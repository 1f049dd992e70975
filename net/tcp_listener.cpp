#include "net/tcp_listener.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace otlpd {
namespace {

std::string show(const sockaddr* addr, int port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, text, sizeof text);
    return fmt::format("[{}]:{}", text, port);
  }
  inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, text, sizeof text);
  return fmt::format("{}:{}", text, port);
}

void set_port(sockaddr* addr, int port) {
  if (addr->sa_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(addr)->sin6_port = htons(static_cast<std::uint16_t>(port));
  } else {
    reinterpret_cast<sockaddr_in*>(addr)->sin_port = htons(static_cast<std::uint16_t>(port));
  }
}

}  // namespace

TcpListener::TcpListener(std::string name, std::shared_ptr<spdlog::logger> logger)
    : name_(std::move(name)), logger_(std::move(logger)) {}

TcpListener::~TcpListener() { stop(); }

bool TcpListener::bind(const std::string& host, int port, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* result = nullptr;
  const std::string service = std::to_string(port);
  // "" (":4317") is every interface, as in otelcol: IPv4's any address.
  const char* node = host.empty() ? "0.0.0.0" : host.c_str();
  if (int rc = getaddrinfo(node, service.c_str(), &hints, &result); rc != 0) {
    *error = fmt::format("cannot resolve host '{}': {}", host, gai_strerror(rc));
    return false;
  }
  std::vector<addrinfo*> addresses;
  for (addrinfo* ai = result; ai; ai = ai->ai_next) addresses.push_back(ai);
  std::stable_partition(addresses.begin(), addresses.end(), [](addrinfo* ai) { return ai->ai_family == AF_INET; });
  for (addrinfo* ai : addresses) {
    if (port_ != 0) set_port(ai->ai_addr, port_);
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    int one = 1;
    const bool ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
                    (ai->ai_family != AF_INET6 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0) &&
                    ::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0;
    if (!ok) {
      const int err = errno;
      if (fd >= 0) close(fd);
      if (fds_.empty()) {
        *error = std::strerror(err);
        freeaddrinfo(result);
        return false;
      }
      // A further address of the same name (::1 where IPv6 is off): the first one serves.
      logger_->debug("{}: not listening on {} as well: {}", name_, show(ai->ai_addr, port_), std::strerror(err));
      continue;
    }
    if (port_ == 0) {
      sockaddr_storage bound{};
      socklen_t length = sizeof bound;
      getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
      port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    }
    fds_.push_back(fd);
    bound_.push_back(show(ai->ai_addr, port_));
  }
  freeaddrinfo(result);
  return true;
}

std::string TcpListener::addresses() const { return fmt::format("{}", fmt::join(bound_, " and ")); }

void TcpListener::start(OnConnection on_connection, OnAcceptState on_state) {
  on_connection_ = std::move(on_connection);
  on_state_ = std::move(on_state);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] { run(); });
}

void TcpListener::stop() noexcept {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) {
      // eventfd writes fail only on overflow: the thread is being woken already
    }
    thread_.join();
  }
  if (wake_fd_ >= 0) close(wake_fd_);
  wake_fd_ = -1;
  for (int fd : fds_) close(fd);
  fds_.clear();
}

void TcpListener::run() noexcept {
  std::vector<pollfd> polled;
  polled.push_back({wake_fd_, POLLIN, 0});
  for (int fd : fds_) polled.push_back({fd, POLLIN, 0});
  bool failing = false;
  for (;;) {
    // After a failure, wait 100 ms (for descriptors to come back) before accepting again;
    // only the wake-up is watched meanwhile, or a full backlog would spin the loop.
    const int ready = poll(polled.data(), failing ? 1 : polled.size(), failing ? 100 : -1);
    if (ready < 0 && errno != EINTR) {
      logger_->error("{}: poll failed: {}", name_, std::strerror(errno));
      failing = true;
      continue;
    }
    if (polled[0].revents & POLLIN) return;  // stop()
    bool failed = false;
    for (std::size_t i = 1; i < polled.size(); ++i) {
      for (;;) {
        const int fd = accept4(polled[i].fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
          int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          if (failing) {
            failing = false;
            logger_->info("{} accepts connections on {} again", name_, addresses());
            if (on_state_) on_state_(true, {});
          }
          on_connection_(fd, polled[i].fd);
          continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;  // that connection is gone
        // Out of descriptors (EMFILE, ENFILE) or memory (ENOBUFS, ENOMEM): never give up.
        if (!failing) {
          const std::string why = std::strerror(errno);
          logger_->warn("{} cannot accept connections on {}: {}; retrying every 100 ms", name_, addresses(), why);
          if (on_state_) on_state_(false, fmt::format("{} cannot accept connections on {}: {}", name_, addresses(), why));
        }
        failed = true;
        break;
      }
    }
    if (failed) failing = true;
  }
}

}  // namespace otlpd
