#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "net/http_request_reader.h"
#include "net/server_tls.h"

namespace otlpd {

// "host:port" split; ":4317" means every interface. Returns false if malformed.
bool split_endpoint(const std::string& endpoint, std::string* host, int* port);

// Appends a whole HTTP/1.1 response. `extra_headers` are complete lines ("Name: value\r\n").
void write_http_response(std::string* out, int status, std::string_view content_type, std::string_view body,
                         bool keep_alive, std::string_view extra_headers = "");

struct HttpServerOptions {
  std::string name;      // what it serves, for logs and errors: "OTLP/HTTP", "trace query"
  std::string endpoint;  // host:port
  std::optional<ServerTlsConfig> tls;
  std::uint64_t max_request_body_size = 20 * 1024 * 1024;
  std::chrono::milliseconds read_timeout{30000};  // a request must arrive whole within this
  std::chrono::milliseconds idle_timeout{60000};  // a kept-alive connection without a request
  // 0: the io thread runs the handler. More: the handler runs on this many threads of its own
  // (it must be thread-safe), so that one slow answer holds only its own connection.
  unsigned handler_threads = 0;
  // Told (on the io thread) when accepting connections stops working, with why, and when it
  // works again (empty why).
  std::function<void(bool accepting, const std::string& why)> on_accept_state;
};

// Appends the response to a request (request.keep_alive says whether the connection stays).
using HttpHandler = std::function<void(HttpRequest& request, std::string* out)>;

// An HTTP/1.1 server on standalone Asio, plain or TLS (OpenSSL): keep-alive and pipelining;
// HttpRequestReader (http-parser) reads the requests and `handler` answers them, in order.
// A request must arrive whole within read_timeout of its first byte and an idle kept-alive
// connection is closed after idle_timeout, so slow or stuck clients cannot hold connections
// forever. One io thread serves every connection; the handler runs on it, or on
// `handler_threads` threads of its own. A connection reads nothing more while its requests
// are being answered.
class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler, std::shared_ptr<spdlog::logger> logger);
  ~HttpServer();

  bool start(std::string* error);
  // Stops accepting, lets the request being handled finish, closes connections, joins.
  void shutdown() noexcept;
  int bound_port() const { return bound_port_; }

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
  int bound_port_ = 0;
};

}  // namespace otlpd
