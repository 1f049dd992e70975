#include "net/http_server.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <algorithm>
#include <charconv>
#include <deque>
#include <future>
#include <optional>
#include <set>
#include <thread>


namespace otlpd {
namespace {

using asio::ip::tcp;
using TlsStream = asio::ssl::stream<tcp::socket>;

tcp::socket& socket_of(tcp::socket& s) { return s; }
tcp::socket& socket_of(TlsStream& s) { return s.next_layer(); }

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}

}  // namespace

bool split_endpoint(const std::string& endpoint, std::string* host, int* port) {
  const std::size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos) return false;
  *host = endpoint.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  const char* first = endpoint.data() + colon + 1;
  const char* last = endpoint.data() + endpoint.size();
  auto [ptr, ec] = std::from_chars(first, last, *port);
  return ec == std::errc() && ptr == last && *port >= 0 && *port <= 65535;
}

void write_http_response(std::string* out, int status, std::string_view content_type, std::string_view body,
                         bool keep_alive, std::string_view extra_headers) {
  *out += fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}{}\r\n", status,
                      reason(status), content_type, body.size(), extra_headers,
                      keep_alive ? "" : "Connection: close\r\n");
  *out += body;
}

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions config, HttpHandler handler, std::shared_ptr<spdlog::logger> logger)
      : config_(std::move(config)), handler_(std::move(handler)), logger_(std::move(logger)),
        listeners_() {}

  struct SessionBase {
    virtual ~SessionBase() = default;
    virtual void close() = 0;
  };

  // One connection: reads requests as bytes arrive and answers them in order. `Stream` is a
  // plain socket or a TLS stream over one.
  template <typename Stream>
  class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
   public:
    template <typename... Args>
    Session(Impl& server, Args&&... stream_args)
        : server_(server), stream_(std::forward<Args>(stream_args)...), timer_(server.io_),
          reader_(server.config_.max_request_body_size) {}

    void start() {
      if (server_.stopping_) return;  // accepted as the server stopped: dropped (closes)
      server_.sessions_.insert(this->shared_from_this());
      if constexpr (std::is_same_v<Stream, TlsStream>) {
        arm(server_.config_.read_timeout);  // the handshake is part of the first request
        stream_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](const asio::error_code& ec) {
          if (ec) {
            self->server_.logger_->debug("{} TLS handshake failed: {}", self->server_.config_.name, ec.message());
            return self->close();
          }
          self->read();
        });
      } else {
        read();
      }
    }

    void close() override {
      timer_.cancel();
      if (closed_) return;
      closed_ = true;
      asio::error_code ignored;
      socket_of(stream_).shutdown(tcp::socket::shutdown_both, ignored);
      socket_of(stream_).close(ignored);
      server_.sessions_.erase(this->shared_from_this());
    }

   private:
    // Closes the connection when `timeout` passes without the timer being re-armed.
    void arm(std::chrono::milliseconds timeout) {
      if (closed_) return;  // nothing may keep the io thread busy after close
      timer_.expires_after(timeout);
      timer_.async_wait([self = this->shared_from_this()](const asio::error_code& ec) {
        if (ec) return;  // re-armed or cancelled
        if (self->reader_.in_request()) {
          self->server_.logger_->debug("{} request not complete after read_timeout; connection closed",
                                       self->server_.config_.name);
        }
        self->close();
      });
    }

    void read() {
      // A write that completed just before shutdown closed the connection lands here: stop.
      if (closed_ || server_.stopping_) return close();
      // Between requests the idle timeout runs; a request must end read_timeout after it began.
      if (!reader_.in_request()) arm(server_.config_.idle_timeout);
      stream_.async_read_some(asio::buffer(buffer_), [self = this->shared_from_this()](const asio::error_code& ec, std::size_t n) {
        if (ec) return self->close();
        self->received(n);
      });
    }

    void received(std::size_t n) {
      if (server_.stopping_) return close();  // nothing new is handled once shutdown began
      const std::uint64_t begun = reader_.begun();
      std::string error;
      // The requests this read completed, each with the interim responses (100 Continue)
      // written before it; what is written after the last one belongs to a request still
      // arriving. Answered in that order, as if each were handled the moment it completed.
      std::vector<std::pair<HttpRequest, std::string>> ready;
      const bool ok = reader_.feed(buffer_.data(), n, [&](HttpRequest& request) {
        ready.emplace_back(std::move(request), std::move(output_));
        output_.clear();
      }, &output_, &error);
      std::string tail = std::move(output_);
      output_.clear();
      if (!ok) {
        write_http_response(&tail, 400, "text/plain", error, false);
      } else if (reader_.in_request() && reader_.begun() != begun) {
        arm(server_.config_.read_timeout);  // a request began: it has read_timeout to end
      }
      const bool to_handle = !ready.empty();
      auto answer = [self = this->shared_from_this(), ready = std::move(ready), tail = std::move(tail), ok]() mutable {
        std::string out;
        bool keep_alive = ok;
        for (auto& [request, interim] : ready) {
          out += interim;
          self->server_.handler_(request, &out);
          if (!request.keep_alive) keep_alive = false;
        }
        out += tail;
        return std::pair(std::move(out), keep_alive);
      };
      if (!to_handle || !server_.pool_) {
        auto [out, keep_alive] = answer();
        return deliver(std::move(out), keep_alive, false);
      }
      // On a handler thread, so that a slow handler (a full queue with block_on_overflow, a
      // synchronous exporter) holds only this connection; it reads nothing more meanwhile.
      timer_.cancel();
      asio::post(*server_.pool_, [self = this->shared_from_this(), answer = std::move(answer),
                                  work = asio::make_work_guard(server_.io_)]() mutable {
        std::pair<std::string, bool> answered = answer();  // (not a structured binding: clang cannot capture one)
        asio::post(self->server_.io_, [self, answered = std::move(answered)]() mutable {
          self->deliver(std::move(answered.first), answered.second, true);
        });
      });
    }

    // On the io thread: writes the answers, then reads on (or closes). `handled_elsewhere`: the
    // answers came from a handler thread, and the read timer was cancelled meanwhile.
    void deliver(std::string out, bool keep_alive, bool handled_elsewhere) {
      if (closed_) return;  // closed at shutdown while a handler ran
      if (!keep_alive) keep_alive_ = false;
      // A request that had begun to arrive behind the answered ones gets its read_timeout again.
      if (handled_elsewhere && reader_.in_request()) arm(server_.config_.read_timeout);
      if (out.empty()) {
        if (keep_alive_) read();
        else close();
        return;
      }
      auto buffer = std::make_shared<std::string>(std::move(out));
      asio::async_write(stream_, asio::buffer(*buffer), [self = this->shared_from_this(), buffer](const asio::error_code& ec, std::size_t) {
        if (ec || !self->keep_alive_) return self->close();
        self->read();
      });
    }

    Impl& server_;  // joins its io thread (which holds every session) before it goes
    Stream stream_;
    asio::steady_timer timer_;
    HttpRequestReader reader_;
    std::array<char, 64 * 1024> buffer_;
    std::string output_;  // interim responses written while reading
    bool keep_alive_ = true;
    bool closed_ = false;
  };

  bool setup_tls(std::string* error) {
    tls_ = make_server_tls_context(*config_.tls, config_.name, false, error);
    return tls_.has_value();
  }

  // One listening socket: a host name such as localhost may stand for several addresses
  // (127.0.0.1 and ::1), and each gets one, as gRPC does.
  struct Listener {
    explicit Listener(asio::io_context& io) : acceptor(io), retry(io) {}
    tcp::acceptor acceptor;
    asio::steady_timer retry;  // the pause after a failed accept
    bool failing = false;
    std::string bound;  // address:port, for logs
  };

  void accept(Listener& listener) {
    listener.acceptor.async_accept([this, &listener](const asio::error_code& ec, tcp::socket socket) {
      if (stopping_) return;  // closed at shutdown (a socket accepted meanwhile closes here)
      if (ec) {
        // Out of file descriptors (EMFILE, ENFILE) or memory, or a connection that died in the
        // backlog: never stop accepting. Wait a moment (descriptors come back as connections
        // close) and accept again; say so once per episode, not once per attempt.
        if (!listener.failing) {
          logger_->warn("{} cannot accept connections on {}: {}; retrying every 100 ms", config_.name, listener.bound,
                        ec.message());
          if (failing_listeners_++ == 0 && config_.on_accept_state) {
            config_.on_accept_state(false, fmt::format("{} cannot accept connections on {}: {}", config_.name,
                                                       listener.bound, ec.message()));
          }
        }
        listener.failing = true;
        listener.retry.expires_after(std::chrono::milliseconds(100));
        listener.retry.async_wait([this, &listener](const asio::error_code& timer_ec) {
          if (!timer_ec && !stopping_) accept(listener);
        });
        return;
      }
      if (listener.failing) {
        logger_->info("{} accepts connections on {} again", config_.name, listener.bound);
        listener.failing = false;
        if (--failing_listeners_ == 0 && config_.on_accept_state) config_.on_accept_state(true, {});
      }
      if (config_.tls) {
        std::make_shared<Session<TlsStream>>(*this, std::move(socket), *tls_)->start();
      } else {
        std::make_shared<Session<tcp::socket>>(*this, std::move(socket))->start();
      }
      accept(listener);
    });
  }

  HttpServerOptions config_;
  HttpHandler handler_;  // the io thread, or the handler threads (it must then be thread-safe)
  std::shared_ptr<spdlog::logger> logger_;
  asio::io_context io_;
  std::deque<Listener> listeners_;  // set up by start(); then io thread only
  std::optional<asio::ssl::context> tls_;  // set up by setup_tls()
  std::set<std::shared_ptr<SessionBase>> sessions_;  // io thread only
  std::thread thread_;
  std::optional<asio::thread_pool> pool_;  // handler_threads > 0: where handlers run
  bool stopping_ = false;  // io thread only: shutdown() has begun
  int failing_listeners_ = 0;  // io thread only: listeners whose accept fails
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler, std::shared_ptr<spdlog::logger> logger)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), std::move(logger))) {}

HttpServer::~HttpServer() { shutdown(); }

bool HttpServer::start(std::string* error) {
  if (impl_->config_.tls && !impl_->setup_tls(error)) return false;
  std::string host;
  int port = 0;
  split_endpoint(impl_->config_.endpoint, &host, &port);
  asio::error_code ec;
  tcp::resolver resolver(impl_->io_);
  auto endpoints = resolver.resolve(host.empty() ? "0.0.0.0" : host, std::to_string(port), ec);
  if (ec || endpoints.empty()) {
    *error = fmt::format("cannot resolve '{}' for {}: {}", impl_->config_.endpoint, impl_->config_.name, ec.message());
    return false;
  }
  // Every address the host stands for (localhost: 127.0.0.1 and ::1), IPv4 first, on one
  // port (with port 0, the one the first bind got).
  std::vector<tcp::endpoint> addresses;
  for (const auto& entry : endpoints) {
    if (std::find(addresses.begin(), addresses.end(), entry.endpoint()) == addresses.end()) {
      addresses.push_back(entry.endpoint());
    }
  }
  std::stable_partition(addresses.begin(), addresses.end(), [](const tcp::endpoint& e) { return e.address().is_v4(); });
  std::vector<std::string> bound;
  for (tcp::endpoint address : addresses) {
    if (bound_port_ != 0) address.port(static_cast<unsigned short>(bound_port_));
    Impl::Listener& listener = impl_->listeners_.emplace_back(impl_->io_);
    auto& acceptor = listener.acceptor;
    if (acceptor.open(address.protocol(), ec); !ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && address.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor.bind(address, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      asio::error_code ignored;
      acceptor.close(ignored);
      impl_->listeners_.pop_back();
      if (bound.empty()) {
        *error = fmt::format("cannot listen for {} on {}: {}", impl_->config_.name, impl_->config_.endpoint, ec.message());
        return false;
      }
      // A further address of the same name (::1 where IPv6 is off): the first one serves.
      impl_->logger_->debug("{}: not listening on {} as well: {}", impl_->config_.name, address.address().to_string(),
                            ec.message());
      continue;
    }
    bound_port_ = acceptor.local_endpoint().port();
    const std::string text = address.address().is_v6() ? fmt::format("[{}]:{}", address.address().to_string(), bound_port_)
                                                          : fmt::format("{}:{}", address.address().to_string(), bound_port_);
    listener.bound = text;
    bound.push_back(text);
  }
  for (auto& listener : impl_->listeners_) impl_->accept(listener);
  if (impl_->config_.handler_threads > 0) impl_->pool_.emplace(impl_->config_.handler_threads);
  impl_->thread_ = std::thread([impl = impl_.get()] { impl->io_.run(); });
  impl_->logger_->info("{} listening on {}{}", impl_->config_.name, fmt::join(bound, " and "),
                       impl_->config_.tls ? " (TLS)" : "");
  return true;
}

void HttpServer::shutdown() noexcept {
  if (!impl_->thread_.joinable()) return;
  // On the io thread: stop accepting; requests that arrive from now on are not handled. Waited
  // for, so that no handler can be posted to the pool once it is joined.
  std::promise<void> stopped;
  asio::post(impl_->io_, [impl = impl_.get(), &stopped] {
    impl->stopping_ = true;
    asio::error_code ignored;
    for (auto& listener : impl->listeners_) {
      listener.retry.cancel();
      listener.acceptor.close(ignored);
    }
    stopped.set_value();
  });
  stopped.get_future().wait();
  // Handlers still running finish, and their answers are written before the connections
  // close (each holds the io thread's work until its answer is posted).
  if (impl_->pool_) impl_->pool_->join();
  asio::post(impl_->io_, [impl = impl_.get()] {
    auto sessions = impl->sessions_;
    for (auto& session : sessions) session->close();
  });
  impl_->thread_.join();
}

}  // namespace otlpd
