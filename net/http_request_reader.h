#pragma once

#include <http_parser.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace otlpd {

// ASCII lower case (header names and tokens are case-insensitive).
std::string lower(std::string_view s);

// Text that quotes a request (a path, a header) made valid UTF-8 for a response body (a
// protobuf string or JSON must be): if it is not, every byte >= 0x80 becomes '?'.
std::string valid_utf8(std::string text);

// One HTTP/1.1 request as read off a connection.
struct HttpRequest {
  http_method method = HTTP_GET;
  std::string url;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // empty if too_large
  bool too_large = false;                      // the body was over the limit and was not kept
  bool keep_alive = true;

  const std::string& header(const std::string& lower_name) const;
};

// Reads HTTP/1.1 requests from a byte stream with http-parser (Debian's libhttp-parser):
// several per read (pipelining), or one across many reads. Bodies over `max_body` bytes are
// counted but not kept.
class HttpRequestReader {
 public:
  using OnRequest = std::function<void(HttpRequest&)>;

  explicit HttpRequestReader(std::size_t max_body);
  HttpRequestReader(const HttpRequestReader&) = delete;
  HttpRequestReader& operator=(const HttpRequestReader&) = delete;

  // Feeds `n` bytes; `on_request` runs for every request they complete. Interim responses
  // (100 Continue) are appended to *interim. Returns false on malformed HTTP, with *error;
  // the connection must then be answered 400 and closed.
  bool feed(const char* data, std::size_t n, const OnRequest& on_request, std::string* interim, std::string* error);

  // Whether a request has begun and not yet ended.
  bool in_request() const { return in_request_; }
  // How many requests have begun so far.
  std::uint64_t begun() const { return begun_; }

 private:
  static const http_parser_settings& settings();
  void store_header();

  http_parser parser_;
  std::size_t max_body_;
  HttpRequest request_;
  std::string field_, value_;
  bool in_request_ = false;
  std::uint64_t begun_ = 0;
  const OnRequest* on_request_ = nullptr;
  std::string* interim_ = nullptr;
};

}  // namespace otlpd
