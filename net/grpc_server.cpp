#include "net/grpc_server.h"

#include <fmt/format.h>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "net/http_server.h"  // split_endpoint

namespace otlpd {
namespace {

using asio::ip::tcp;
using TlsStream = asio::ssl::stream<tcp::socket>;

// The 5-byte prefix of every gRPC message: the compressed flag, then the length, big-endian.
constexpr std::size_t kPrefix = 5;
// Flow control: how far a client may send ahead, per call and per connection. Messages are
// bounded by the quota as their prefixes arrive, so a window only lets bytes come sooner.
constexpr std::int32_t kStreamWindow = 1 << 20;
constexpr std::int32_t kConnectionWindow = 16 << 20;
constexpr std::uint32_t kMaxFrame = 1 << 20;

// grpc-message is percent-encoded: bytes outside printable ASCII, and '%'.
std::string percent_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const unsigned char c : text) {
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

nghttp2_nv header(std::string_view name, std::string_view value) {
  return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

// Shared by the connections of one server: options, handler, the memory quota and the count of
// calls not yet answered (what shutdown waits for).
class GrpcServer::Impl {
 public:
  Impl(GrpcServerOptions options, GrpcHandler handler, std::shared_ptr<spdlog::logger> logger)
      : options_(std::move(options)), handler_(std::move(handler)), logger_(std::move(logger)) {}

  // Reserves `bytes` of the quota for a message being received; false if it is full.
  bool charge(std::size_t bytes) {
    std::size_t used = quota_used_.load(std::memory_order_relaxed);
    do {
      if (used + bytes > options_.memory_quota) return false;
    } while (!quota_used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }
  void release(std::size_t bytes) { quota_used_.fetch_sub(bytes, std::memory_order_relaxed); }

  // A call began / was answered or went away: shutdown waits for open calls, for a while.
  void call_opened() { open_calls_.fetch_add(1, std::memory_order_relaxed); }
  void call_closed() {
    if (open_calls_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard lock(mutex_);
      cv_.notify_all();
    }
  }
  // An answer handed to a handler that kept it: shutdown always waits for those.
  void answer_owed() { owed_answers_.fetch_add(1, std::memory_order_relaxed); }
  void answer_paid() {
    if (owed_answers_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard lock(mutex_);
      cv_.notify_all();
    }
  }

  struct Worker;
  class Connection;
  template <typename Stream>
  class StreamConnection;

  void accepted(int fd);

  GrpcServerOptions options_;
  GrpcHandler handler_;
  std::shared_ptr<spdlog::logger> logger_;
  std::optional<asio::ssl::context> tls_;
  std::unique_ptr<TcpListener> listener_;
  std::deque<Worker> workers_;
  std::atomic<std::size_t> next_worker_{0};
  std::atomic<std::size_t> quota_used_{0};
  std::atomic<std::int64_t> open_calls_{0};
  std::atomic<std::int64_t> owed_answers_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
};

// An io thread and the connections it serves (touched only on that thread).
struct GrpcServer::Impl::Worker {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::set<std::shared_ptr<Connection>> connections;
  bool stopping = false;
  std::thread thread;
};

// One HTTP/2 connection: nghttp2's session and the calls on it. The transport (plain or TLS)
// is the subclass's; everything here runs on the worker's io thread.
class GrpcServer::Impl::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Impl& server, Worker& worker) : server_(server), worker_(worker) {}
  virtual ~Connection() {
    if (session_) nghttp2_session_del(session_);
    for (auto& [id, call] : calls_) forget(*call);
  }

  void start() {
    if (worker_.stopping) return;  // accepted as the server stopped: dropped (closes)
    worker_.connections.insert(shared_from_this());
    nghttp2_session_callbacks* callbacks;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &on_frame_send);
    nghttp2_option* option;
    nghttp2_option_new(&option);
    // nghttp2 keeps closed streams for HTTP/2 priorities, as many as SETTINGS_MAX_CONCURRENT_STREAMS
    // allows: without a limit (gRPC's default), every call's stream stayed (measured: 5 MiB a
    // second at 20 000 calls a second). Priorities mean nothing for unary calls.
    nghttp2_option_set_no_closed_streams(option, 1);
    nghttp2_session_server_new2(&session_, callbacks, this, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);
    std::vector<nghttp2_settings_entry> settings = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
                                                    {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, kMaxFrame}};
    if (server_.options_.max_concurrent_streams > 0) {
      settings.push_back({NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, server_.options_.max_concurrent_streams});
    }
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
    begin();
  }

  // Closes the transport and forgets the connection.
  virtual void close() = 0;

  // Shutdown: no new calls (GOAWAY naming the last call taken); the open ones go on.
  void goaway() {
    if (closed_) return;
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                          NGHTTP2_NO_ERROR, nullptr, 0);
    flush();
  }

 protected:
  virtual void begin() = 0;  // the handshake, if any, then read()
  virtual void read() = 0;   // reads once, then received()
  virtual void write(const std::string& bytes) = 0;  // writes all, then written()

  // Bytes from the peer: through nghttp2 (which calls the handlers), then what it answers.
  void received(const std::uint8_t* data, std::size_t n) {
    if (closed_) return;
    in_recv_ = true;  // nghttp2 may not be asked to send from within its callbacks
    const ssize_t used = nghttp2_session_mem_recv(session_, data, n);
    in_recv_ = false;
    if (used < 0) {
      const int code = static_cast<int>(used);
      server_.logger_->debug("{}: HTTP/2 error from the client: {}", server_.options_.name, nghttp2_strerror(code));
      if (code != NGHTTP2_ERR_BAD_CLIENT_MAGIC) {
        // The client is told why, in a GOAWAY (not HTTP/2 at all: just closed).
        const std::string why = nghttp2_strerror(code);
        nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                              code == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS ? NGHTTP2_ENHANCE_YOUR_CALM
                                                                         : NGHTTP2_PROTOCOL_ERROR,
                              reinterpret_cast<const std::uint8_t*>(why.data()), why.size());
      }
      flush();
      if (!writing_) return close();
      close_after_write_ = true;
      return;
    }
    flush();
    if (!closed_) read();
  }

  void written() {
    writing_ = false;
    out_.clear();
    if (close_after_write_) return close();
    flush();
  }

  void closing() {
    closed_ = true;
    worker_.connections.erase(shared_from_this());
  }

  Impl& server_;
  Worker& worker_;
  bool closed_ = false;

 private:
  // One call (an HTTP/2 stream).
  struct Call {
    std::int32_t id = 0;
    std::int64_t method = -1;  // index into options.methods; -1: unknown
    std::string path;
    std::string encoding;
    bool post = false;
    bool grpc_content = false;
    std::uint8_t prefix[kPrefix] = {};
    std::size_t prefix_have = 0;
    std::size_t expected = 0;  // the message's length, once the prefix is whole
    std::shared_ptr<std::string> message;
    std::size_t charged = 0;  // of the quota
    bool answered = false;    // an answer is submitted, or the handler owes it
    bool counted = false;     // counted as an open call
    bool client_done = false; // the client ended its side (END_STREAM)
    std::size_t response_sent = 0;  // of the OK answer's empty message
  };

  Call* find(std::int32_t id) {
    auto it = calls_.find(id);
    return it == calls_.end() ? nullptr : it->second.get();
  }

  // Gives back the quota the call's message held.
  void release_quota(Call& call) {
    if (call.charged) server_.release(call.charged);
    call.charged = 0;
  }

  // The call holds nothing of the server's any more: no quota, not counted as open.
  void forget(Call& call) {
    release_quota(call);
    if (call.counted) server_.call_closed();
    call.counted = false;
  }

  // Answers with a status only (a "trailers-only" response), or OK with the empty message.
  void answer(Call& call, const GrpcStatus& status) {
    if (status.ok()) {
      nghttp2_nv headers[] = {header(":status", "200"), header("content-type", "application/grpc")};
      nghttp2_data_provider body;
      body.source.ptr = &call;
      body.read_callback = &read_empty_message;
      nghttp2_submit_response(session_, call.id, headers, std::size(headers), &body);
    } else {
      const std::string code = std::to_string(static_cast<int>(status.code));
      const std::string message = percent_encode(status.message);
      nghttp2_nv headers[] = {header(":status", "200"), header("content-type", "application/grpc"),
                              header("grpc-status", code), header("grpc-message", message)};
      nghttp2_submit_response(session_, call.id, headers, status.message.empty() ? 3 : 4, nullptr);
    }
    forget(call);
  }

  void refuse(Call& call, GrpcCode code, std::string message) {
    if (call.answered) return;
    call.answered = true;
    answer(call, {code, std::move(message)});
  }

  // The whole message is here: the handler takes it.
  void dispatch(Call& call) {
    call.answered = true;
    release_quota(call);  // the message is the handler's from here
    GrpcMessage message;
    message.method = static_cast<std::size_t>(call.method);
    message.compressed = call.prefix[0] & 1;
    message.encoding = call.encoding;
    message.bytes = std::move(call.message);
    // Paid when the last copy of the answer is gone: answered (on the io thread), or dropped.
    struct Owed {
      explicit Owed(Impl& s) : server(s) { server.answer_owed(); }
      ~Owed() { server.answer_paid(); }
      Impl& server;
    };
    server_.handler_(message, [self = weak_from_this(), owed = std::make_shared<Owed>(server_), id = call.id,
                               io = &worker_.io](GrpcStatus status) {
      asio::dispatch(*io, [self, owed, id, status = std::move(status)] {
        if (auto connection = self.lock(); connection && !connection->closed_) {
          if (Call* open = connection->find(id)) {
            connection->answer(*open, status);
            connection->flush();
          }
        }
      });
    });
  }

  // Writes what nghttp2 has to send, unless a write is under way (then when it ends).
  void flush() {
    if (writing_ || closed_ || in_recv_) return;
    const std::uint8_t* data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session_, &data)) > 0) {
      out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
      if (out_.size() >= (256 << 10)) break;
    }
    if (n < 0) return close();
    if (out_.empty()) {
      if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) close();
      return;
    }
    writing_ = true;
    write(out_);
  }

  static Connection& of(void* user_data) { return *static_cast<Connection*>(user_data); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    Connection& self = of(user_data);
    auto call = std::make_unique<Call>();
    call->id = frame->hd.stream_id;
    call->counted = true;
    self.server_.call_opened();
    self.calls_[call->id] = std::move(call);
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t name_length,
                       const std::uint8_t* value, std::size_t value_length, std::uint8_t, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    Call* call = of(user_data).find(frame->hd.stream_id);
    if (!call) return 0;
    const std::string_view key(reinterpret_cast<const char*>(name), name_length);
    const std::string_view text(reinterpret_cast<const char*>(value), value_length);
    if (key == ":path") {
      call->path = text;
    } else if (key == ":method") {
      call->post = text == "POST";
    } else if (key == "content-type") {
      call->grpc_content = text.substr(0, 16) == "application/grpc";
    } else if (key == "grpc-encoding") {
      call->encoding = text;
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    Connection& self = of(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    Call* call = self.find(frame->hd.stream_id);
    if (!call) return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      const auto& methods = self.server_.options_.methods;
      for (std::size_t i = 0; i < methods.size(); ++i) {
        if (methods[i] == call->path) call->method = static_cast<std::int64_t>(i);
      }
      if (!call->post || !call->grpc_content) {
        // Not gRPC (gRPC's protocol says: HTTP 415).
        call->answered = true;
        nghttp2_nv headers[] = {header(":status", "415"), header("content-type", "text/plain")};
        nghttp2_submit_response(self.session_, call->id, headers, std::size(headers), nullptr);
        self.forget(*call);
      } else if (call->method < 0) {
        self.refuse(*call, GrpcCode::unimplemented, fmt::format("unknown method {}", call->path));
      }
    }
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) call->client_done = true;
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && !call->answered) {
      if (call->prefix_have < kPrefix) {
        self.refuse(*call, GrpcCode::internal, "the call ended without a request message");
      } else if (call->message->size() < call->expected) {
        self.refuse(*call, GrpcCode::internal,
                    fmt::format("the call ended inside its request message ({} of {} bytes)", call->message->size(),
                                call->expected));
      } else {
        self.dispatch(*call);
      }
    }
    return 0;
  }

  static int on_data_chunk_recv(nghttp2_session*, std::uint8_t, std::int32_t stream_id, const std::uint8_t* data,
                                std::size_t length, void* user_data) {
    Connection& self = of(user_data);
    Call* call = self.find(stream_id);
    if (!call || call->answered) return 0;  // refused already: the rest is dropped
    Impl& server = self.server_;
    while (length > 0) {
      if (call->prefix_have < kPrefix) {
        const std::size_t n = std::min(length, kPrefix - call->prefix_have);
        std::memcpy(call->prefix + call->prefix_have, data, n);
        call->prefix_have += n;
        data += n;
        length -= n;
        if (call->prefix_have < kPrefix) return 0;
        call->expected = (std::size_t{call->prefix[1]} << 24) | (std::size_t{call->prefix[2]} << 16) |
                         (std::size_t{call->prefix[3]} << 8) | call->prefix[4];
        if (call->expected > server.options_.max_message_bytes) {
          self.refuse(*call, GrpcCode::resource_exhausted,
                      fmt::format("received message larger than max ({} vs. {})", call->expected,
                                  server.options_.max_message_bytes));
          return 0;
        }
        if (!server.charge(call->expected)) {
          self.refuse(*call, GrpcCode::unavailable,
                      "the receiver's memory for messages being received is in use; retry later");
          return 0;
        }
        call->charged = call->expected;
        call->message = std::make_shared<std::string>();
        call->message->reserve(call->expected);
        continue;
      }
      const std::size_t room = call->expected - call->message->size();
      if (length > room) {
        self.refuse(*call, GrpcCode::internal, "more than one request message in a unary call");
        return 0;
      }
      call->message->append(reinterpret_cast<const char*>(data), length);
      length = 0;
    }
    return 0;
  }

  // A client still sending when its answer has gone out (an early refusal) is told to stop:
  // the call is over (RST_STREAM with NO_ERROR, as gRPC servers do). Only once the answer is
  // sent: a reset submitted with it would overtake it.
  static int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
    Call* call = of(user_data).find(frame->hd.stream_id);
    if (call && !call->client_done) {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, call->id, NGHTTP2_NO_ERROR);
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t, void* user_data) {
    Connection& self = of(user_data);
    auto it = self.calls_.find(stream_id);
    if (it == self.calls_.end()) return 0;
    self.forget(*it->second);
    self.calls_.erase(it);
    return 0;
  }

  // The OK answer's body: the empty message's prefix (five zero bytes), then the trailers.
  static ssize_t read_empty_message(nghttp2_session* session, std::int32_t stream_id, std::uint8_t* buffer,
                                    std::size_t length, std::uint32_t* flags, nghttp2_data_source* source,
                                    void*) {
    Call& call = *static_cast<Call*>(source->ptr);
    const std::size_t n = std::min(length, kPrefix - call.response_sent);
    std::memset(buffer, 0, n);
    call.response_sent += n;
    if (call.response_sent == kPrefix) {
      *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
      nghttp2_nv trailers[] = {header("grpc-status", "0")};
      nghttp2_submit_trailer(session, stream_id, trailers, std::size(trailers));
    }
    return static_cast<ssize_t>(n);
  }

  nghttp2_session* session_ = nullptr;
  std::unordered_map<std::int32_t, std::unique_ptr<Call>> calls_;
  std::string out_;
  bool writing_ = false;
  bool close_after_write_ = false;
  bool in_recv_ = false;
};

template <typename Stream>
class GrpcServer::Impl::StreamConnection final : public Connection {
 public:
  template <typename... Args>
  StreamConnection(Impl& server, Worker& worker, Args&&... stream_args)
      : Connection(server, worker), stream_(std::forward<Args>(stream_args)...) {}

  void close() override {
    if (closed_) return;
    asio::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
    closing();
  }

 private:
  tcp::socket& socket() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }
  std::shared_ptr<StreamConnection> self() { return std::static_pointer_cast<StreamConnection>(shared_from_this()); }

  void begin() override {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      stream_.async_handshake(asio::ssl::stream_base::server, [self = self()](const asio::error_code& ec) {
        if (ec) {
          self->server_.logger_->debug("{}: TLS handshake failed: {}", self->server_.options_.name, ec.message());
          return self->close();
        }
        self->flush_then_read();
      });
    } else {
      flush_then_read();
    }
  }

  void flush_then_read() {
    received(nullptr, 0);  // sends the server's SETTINGS, then reads
  }

  void read() override {
    stream_.async_read_some(asio::buffer(buffer_), [self = self()](const asio::error_code& ec, std::size_t n) {
      if (ec) return self->close();
      self->received(self->buffer_.data(), n);
    });
  }

  void write(const std::string& bytes) override {
    asio::async_write(stream_, asio::buffer(bytes), [self = self()](const asio::error_code& ec, std::size_t) {
      if (ec) return self->close();
      self->written();
    });
  }

  Stream stream_;
  std::array<std::uint8_t, 64 * 1024> buffer_;
};

void GrpcServer::Impl::accepted(int fd) {
  Worker& worker = workers_[next_worker_.fetch_add(1, std::memory_order_relaxed) % workers_.size()];
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const tcp protocol = address.ss_family == AF_INET6 ? tcp::v6() : tcp::v4();
  asio::post(worker.io, [this, &worker, fd, protocol] {
    tcp::socket socket(worker.io);
    asio::error_code ec;
    socket.assign(protocol, fd, ec);
    if (ec) {
      ::close(fd);
      return;
    }
    try {
      if (tls_) {
        std::make_shared<StreamConnection<TlsStream>>(*this, worker, std::move(socket), *tls_)->start();
      } else {
        std::make_shared<StreamConnection<tcp::socket>>(*this, worker, std::move(socket))->start();
      }
    } catch (const std::exception& e) {  // out of memory (TLS state): this connection only
      logger_->warn("{}: cannot serve a connection: {}", options_.name, e.what());
    }
  });
}

GrpcServer::GrpcServer(GrpcServerOptions options, GrpcHandler handler, std::shared_ptr<spdlog::logger> logger)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(handler), std::move(logger))) {}

GrpcServer::~GrpcServer() { shutdown(); }

std::string GrpcServer::addresses() const { return impl_->listener_ ? impl_->listener_->addresses() : ""; }

bool GrpcServer::start(std::string* error) {
  Impl& impl = *impl_;
  std::string host;
  int port = 0;
  if (!split_endpoint(impl.options_.endpoint, &host, &port)) {
    *error = fmt::format("invalid endpoint '{}'", impl.options_.endpoint);
    return false;
  }
  if (impl.options_.tls) {
    impl.tls_ = make_server_tls_context(*impl.options_.tls, impl.options_.name, true, error);
    if (!impl.tls_) return false;
  }
  // No SO_REUSEPORT: a second collector on the same port must be an error, not take half of
  // the traffic.
  auto listener = std::make_unique<TcpListener>(impl.options_.name, impl.logger_);
  if (std::string why; !listener->bind(host, port, &why)) {
    *error = fmt::format("cannot listen for {} on {}: {}", impl.options_.name, impl.options_.endpoint, why);
    return false;
  }
  for (unsigned i = 0; i < std::max(1u, impl.options_.threads); ++i) {
    Impl::Worker& worker = impl.workers_.emplace_back();
    // Asio makes an io_context's epoll and eventfd descriptors with its first socket: made
    // now, so that a connection accepted while descriptors are exhausted cannot need them.
    tcp::socket reactor_now(worker.io);
    worker.thread = std::thread([&worker] { worker.io.run(); });
  }
  impl.listener_ = std::move(listener);
  bound_port_ = impl.listener_->port();
  impl.listener_->start([impl = impl_.get()](int fd, int) { impl->accepted(fd); }, impl.options_.on_accept_state);
  return true;
}

void GrpcServer::shutdown(std::chrono::milliseconds grace) noexcept {
  Impl& impl = *impl_;
  if (!impl.listener_) return;
  impl.listener_->stop();  // no new connections
  // On each io thread: no new calls on the connections there are.
  for (auto& worker : impl.workers_) {
    std::promise<void> done;
    asio::post(worker.io, [&worker, &done] {
      worker.stopping = true;
      for (const auto& connection : worker.connections) connection->goaway();
      done.set_value();
    });
    done.get_future().wait();
  }
  {
    // The calls in flight arrive and are answered, for up to `grace`; answers a handler still
    // owes are always waited for (they are data already handed on, being made durable).
    std::unique_lock lock(impl.mutex_);
    impl.cv_.wait_for(lock, grace, [&] { return impl.open_calls_.load() == 0; });
    impl.cv_.wait(lock, [&] { return impl.owed_answers_.load() == 0; });
  }
  for (auto& worker : impl.workers_) {
    asio::post(worker.io, [&worker] {
      auto connections = worker.connections;  // close() erases
      for (const auto& connection : connections) connection->close();
      worker.work.reset();
    });
  }
  for (auto& worker : impl.workers_) worker.thread.join();
  impl.workers_.clear();
  impl.listener_.reset();
}

}  // namespace otlpd
