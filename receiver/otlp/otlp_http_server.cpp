#include "receiver/otlp/otlp_http_server.h"

#include <fmt/format.h>
#include <http_parser.h>
#include <zlib.h>
#include <zstd.h>

#include <asio.hpp>
#include <set>

#include "exporters/common/json_writer.h"
#include "google/rpc/status.pb.h"
#include "receiver/otlp/ingest.h"

namespace otlpd {
namespace {

using asio::ip::tcp;
constexpr auto kIdleTimeout = std::chrono::seconds(30);

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Inflates a gzip or zlib ("deflate") body; false if it is not one, or grows past `limit`.
enum class Inflate { ok, invalid, too_large };
Inflate inflate_body(const std::string& in, std::size_t limit, std::string* out) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) return Inflate::invalid;  // +32: gzip or zlib header
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char chunk[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return Inflate::invalid;
    }
    out->append(chunk, sizeof chunk - z.avail_out);
    if (out->size() > limit) {
      inflateEnd(&z);
      return Inflate::too_large;
    }
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {  // input ended before the stream did
      inflateEnd(&z);
      return Inflate::invalid;
    }
  }
  inflateEnd(&z);
  return Inflate::ok;
}

Inflate zstd_body(const std::string& in, std::size_t limit, std::string* out) {
  std::unique_ptr<ZSTD_DStream, decltype(&ZSTD_freeDStream)> stream(ZSTD_createDStream(), &ZSTD_freeDStream);
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  char chunk[64 * 1024];
  std::size_t rc = 1;
  while (input.pos < input.size || rc != 0) {
    ZSTD_outBuffer output{chunk, sizeof chunk, 0};
    rc = ZSTD_decompressStream(stream.get(), &output, &input);
    if (ZSTD_isError(rc)) return Inflate::invalid;
    out->append(chunk, output.pos);
    if (out->size() > limit) return Inflate::too_large;
    if (input.pos == input.size && output.pos == 0 && rc != 0) return Inflate::invalid;  // truncated
  }
  return Inflate::ok;
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}

}  // namespace

class OtlpHttpServer::Impl {
 public:
  Impl(OtlpHttpConfig config, SignalConsumers consumers, ReceiverCounters* counters,
       std::shared_ptr<spdlog::logger> logger)
      : config_(std::move(config)), consumers_(consumers), counters_(counters), logger_(std::move(logger)),
        acceptor_(io_) {}

  // One connection: parses requests as bytes arrive and answers them in order.
  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(Impl& server, tcp::socket socket) : server_(server), socket_(std::move(socket)), timer_(server.io_) {
      http_parser_init(&parser_, HTTP_REQUEST);
      parser_.data = this;
    }

    void start() {
      server_.sessions_.insert(shared_from_this());
      read();
    }

    void close() {
      asio::error_code ignored;
      timer_.cancel();
      socket_.shutdown(tcp::socket::shutdown_both, ignored);
      socket_.close(ignored);
      server_.sessions_.erase(shared_from_this());
    }

   private:
    void read() {
      // A request that stalls half-way (slow or stuck client) is cut off after kIdleTimeout.
      timer_.expires_after(kIdleTimeout);
      timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
        if (!ec && self->in_request_) self->close();
      });
      socket_.async_read_some(asio::buffer(buffer_), [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
        if (ec) {
          self->close();
          return;
        }
        self->parse(n);
      });
    }

    void parse(std::size_t n) {
      const std::size_t used = http_parser_execute(&parser_, &settings(), buffer_.data(), n);
      if (parser_.http_errno != HPE_OK || used != n) {
        if (parser_.http_errno != HPE_PAUSED) {
          respond(400, "text/plain", fmt::format("malformed HTTP request: {}",
                                                 http_errno_description(static_cast<http_errno>(parser_.http_errno))));
          keep_alive_ = false;
        }
      }
      if (output_.empty()) {
        if (keep_alive_) read();
        else close();
        return;
      }
      auto out = std::make_shared<std::string>(std::move(output_));
      output_.clear();
      asio::async_write(socket_, asio::buffer(*out), [self = shared_from_this(), out](const asio::error_code& ec, std::size_t) {
        if (ec || !self->keep_alive_) {
          self->close();
          return;
        }
        self->read();
      });
    }

    static const http_parser_settings& settings() {
      static const http_parser_settings s = [] {
        http_parser_settings x{};
        x.on_message_begin = [](http_parser* p) { return self(p)->begin(); };
        x.on_url = [](http_parser* p, const char* at, size_t n) {
          self(p)->url_.append(at, n);
          return 0;
        };
        x.on_header_field = [](http_parser* p, const char* at, size_t n) { return self(p)->header_field(at, n); };
        x.on_header_value = [](http_parser* p, const char* at, size_t n) {
          self(p)->value_.append(at, n);
          return 0;
        };
        x.on_headers_complete = [](http_parser* p) { return self(p)->headers_complete(); };
        x.on_body = [](http_parser* p, const char* at, size_t n) { return self(p)->body(at, n); };
        x.on_message_complete = [](http_parser* p) { return self(p)->complete(); };
        return x;
      }();
      return s;
    }
    static Session* self(http_parser* p) { return static_cast<Session*>(p->data); }

    int begin() {
      in_request_ = true;
      url_.clear();
      field_.clear();
      value_.clear();
      headers_.clear();
      body_.clear();
      too_large_ = false;
      json_ = false;
      cors_.clear();
      return 0;
    }
    void store_header() {
      if (!field_.empty()) headers_[lower(field_)] = value_;
      field_.clear();
      value_.clear();
    }
    int header_field(const char* at, size_t n) {
      if (!value_.empty()) store_header();
      field_.append(at, n);
      return 0;
    }
    int headers_complete() {
      store_header();
      if (parser_.content_length != ULLONG_MAX && parser_.content_length > server_.config_.max_request_body_size) {
        too_large_ = true;
      }
      // curl and others wait for this before sending a larger body (about 1 s otherwise).
      if (!too_large_ && lower(headers_["expect"]) == "100-continue") output_ += "HTTP/1.1 100 Continue\r\n\r\n";
      return 0;
    }
    int body(const char* at, size_t n) {
      if (body_.size() + n > server_.config_.max_request_body_size) too_large_ = true;
      if (!too_large_) body_.append(at, n);
      return 0;
    }
    int complete() {
      in_request_ = false;
      keep_alive_ = http_should_keep_alive(&parser_) != 0;
      handle();
      return 0;
    }

    void handle() {
      const Signal* signal = nullptr;
      static constexpr Signal kSignals[3] = {Signal::traces, Signal::metrics, Signal::logs};
      const std::string path = url_.substr(0, url_.find('?'));
      for (std::size_t i = 0; i < 3; ++i) {
        if (path == server_.config_.paths[i] && consumer_for(server_.consumers_, kSignals[i])) signal = &kSignals[i];
      }
      if (!signal) return error(404, 5, fmt::format("no OTLP endpoint at {}", path));
      cors_ = cors_headers();
      if (parser_.method == HTTP_OPTIONS && headers_.count("origin") &&
          headers_.count("access-control-request-method")) {
        return respond(204, "text/plain", "", preflight_headers());  // CORS preflight
      }
      if (parser_.method != HTTP_POST) return error(405, 12, "only POST is accepted", "Allow: POST\r\n");
      const std::string type = lower(headers_["content-type"].substr(0, headers_["content-type"].find(';')));
      json_ = type == "application/json";
      if (!json_ && type != "application/x-protobuf") {
        return error(415, 3, fmt::format("unsupported content type '{}' (application/x-protobuf or application/json)",
                                         type));
      }
      if (too_large_) {
        return error(413, 8, fmt::format("request body larger than max_request_body_size ({} bytes)",
                                         server_.config_.max_request_body_size));
      }
      auto bytes = std::make_shared<std::string>();
      const std::string encoding = lower(headers_["content-encoding"]);
      if (encoding == "gzip" || encoding == "deflate" || encoding == "zstd") {
        const auto limit = server_.config_.max_request_body_size;
        switch (encoding == "zstd" ? zstd_body(body_, limit, bytes.get()) : inflate_body(body_, limit, bytes.get())) {
          case Inflate::ok: break;
          case Inflate::invalid: return error(400, 3, fmt::format("the body is not valid {} data", encoding));
          case Inflate::too_large:
            return error(413, 8, fmt::format("decompressed body larger than max_request_body_size ({} bytes)",
                                             server_.config_.max_request_body_size));
        }
      } else if (encoding.empty() || encoding == "identity") {
        *bytes = std::move(body_);
      } else {
        return error(415, 3, fmt::format("unsupported content encoding '{}' (gzip, deflate, zstd)", encoding));
      }
      Consumer& consumer = *consumer_for(server_.consumers_, *signal);
      const IngestResult r =
          json_ ? ingest_json(*signal, *bytes, consumer, *server_.counters_, *server_.logger_)
                : ingest(*signal, WireBytes{reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size(), bytes},
                         consumer, *server_.counters_, *server_.logger_);
      switch (r.code) {
        // The response uses the request's encoding: an empty Export*ServiceResponse.
        case IngestResult::Code::ok: return json_ ? respond(200, "application/json", "{}")
                                                  : respond(200, "application/x-protobuf", "");
        case IngestResult::Code::retryable: return error(503, 14, r.message, "Retry-After: 1\r\n");
        case IngestResult::Code::invalid:
        case IngestResult::Code::permanent: return error(400, 3, r.message);
      }
    }

    // An error answer: a google.rpc.Status in the request's encoding, as OTLP/HTTP specifies.
    void error(int status, int grpc_code, const std::string& message, const std::string& extra = "") {
      if (json_) {
        std::string body = fmt::format(R"({{"code":{},"message":")", grpc_code);
        JsonWriter::escape(body, message);
        return respond(status, "application/json", body + "\"}", extra);
      }
      google::rpc::Status s;
      s.set_code(grpc_code);
      s.set_message(message);
      respond(status, "application/x-protobuf", s.SerializeAsString(), extra);
    }

    void respond(int status, std::string_view type, const std::string& body, const std::string& extra = "") {
      output_ += fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}{}{}\r\n", status,
                             reason(status), type, body.size(), extra, cors_,
                             keep_alive_ ? "" : "Connection: close\r\n");
      output_ += body;
    }

    // Access-Control-Allow-Origin for an allowed Origin (every response to it carries it).
    std::string cors_headers() {
      const auto origin = headers_.find("origin");
      if (origin == headers_.end() || !server_.config_.cors.origin_allowed(origin->second)) return "";
      return fmt::format("Access-Control-Allow-Origin: {}\r\nVary: Origin\r\n", origin->second);
    }

    std::string preflight_headers() {
      if (cors_.empty()) return "";  // origin not allowed: no CORS headers, the browser refuses
      const auto& cors = server_.config_.cors;
      std::string allowed = "Accept, Content-Type, Content-Encoding, X-Requested-With";
      for (const auto& h : cors.allowed_headers) allowed += ", " + h;
      std::string out = fmt::format("Access-Control-Allow-Methods: POST\r\nAccess-Control-Allow-Headers: {}\r\n", allowed);
      if (cors.max_age > 0) out += fmt::format("Access-Control-Max-Age: {}\r\n", cors.max_age);
      return out;
    }

    Impl& server_;
    tcp::socket socket_;
    asio::steady_timer timer_;
    http_parser parser_;
    std::array<char, 64 * 1024> buffer_;
    std::string url_, field_, value_, body_, output_;
    std::map<std::string, std::string> headers_;
    bool too_large_ = false;
    bool json_ = false;  // the request (and so the response) is OTLP/JSON
    std::string cors_;   // CORS headers for every response to this request
    bool keep_alive_ = true;
    bool in_request_ = false;
  };

  void accept() {
    acceptor_.async_accept([this](const asio::error_code& ec, tcp::socket socket) {
      if (ec) return;  // closed at shutdown
      std::make_shared<Session>(*this, std::move(socket))->start();
      accept();
    });
  }

  OtlpHttpConfig config_;
  SignalConsumers consumers_;
  ReceiverCounters* counters_;
  std::shared_ptr<spdlog::logger> logger_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::set<std::shared_ptr<Session>> sessions_;  // io thread only
  std::thread thread_;
};

OtlpHttpServer::OtlpHttpServer(OtlpHttpConfig config, SignalConsumers consumers, ReceiverCounters* counters,
                               std::shared_ptr<spdlog::logger> logger)
    : impl_(std::make_unique<Impl>(std::move(config), consumers, counters, std::move(logger))) {}

OtlpHttpServer::~OtlpHttpServer() { shutdown(); }

bool OtlpHttpServer::start(std::string* error) {
  std::string host;
  int port = 0;
  split_endpoint(impl_->config_.endpoint, &host, &port);
  asio::error_code ec;
  tcp::resolver resolver(impl_->io_);
  auto endpoints = resolver.resolve(host.empty() ? "0.0.0.0" : host, std::to_string(port), ec);
  if (ec || endpoints.empty()) {
    *error = fmt::format("cannot resolve '{}' for OTLP/HTTP: {}", impl_->config_.endpoint, ec.message());
    return false;
  }
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  auto& acceptor = impl_->acceptor_;
  if (acceptor.open(endpoint.protocol(), ec); !ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = fmt::format("cannot listen for OTLP/HTTP on {}: {}", impl_->config_.endpoint, ec.message());
    acceptor.close(ec);
    return false;
  }
  bound_port_ = acceptor.local_endpoint().port();
  impl_->accept();
  impl_->thread_ = std::thread([impl = impl_.get()] { impl->io_.run(); });
  impl_->logger_->info("OTLP/HTTP receiver listening on {}:{}", endpoint.address().to_string(), bound_port_);
  return true;
}

void OtlpHttpServer::shutdown() noexcept {
  if (!impl_->thread_.joinable()) return;
  // On the io thread, between requests: stop accepting and close every connection.
  asio::post(impl_->io_, [impl = impl_.get()] {
    asio::error_code ignored;
    impl->acceptor_.close(ignored);
    auto sessions = impl->sessions_;
    for (auto& session : sessions) session->close();
  });
  impl_->thread_.join();
}

}  // namespace otlpd
