#include "net/http_request_reader.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cctype>
#include <climits>

namespace otlpd {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string valid_utf8(std::string text) {
  if (!simdjson::validate_utf8(text.data(), text.size())) {
    for (char& c : text) {
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    }
  }
  return text;
}

const std::string& HttpRequest::header(const std::string& lower_name) const {
  static const std::string none;
  const auto it = headers.find(lower_name);
  return it == headers.end() ? none : it->second;
}

HttpRequestReader::HttpRequestReader(std::size_t max_body) : max_body_(max_body) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
}

const http_parser_settings& HttpRequestReader::settings() {
  static const http_parser_settings s = [] {
    http_parser_settings x{};
    x.on_message_begin = [](http_parser* p) {
      auto* r = static_cast<HttpRequestReader*>(p->data);
      r->in_request_ = true;
      ++r->begun_;
      r->request_ = HttpRequest{};
      r->field_.clear();
      r->value_.clear();
      return 0;
    };
    x.on_url = [](http_parser* p, const char* at, size_t n) {
      static_cast<HttpRequestReader*>(p->data)->request_.url.append(at, n);
      return 0;
    };
    x.on_header_field = [](http_parser* p, const char* at, size_t n) {
      auto* r = static_cast<HttpRequestReader*>(p->data);
      if (!r->value_.empty()) r->store_header();
      r->field_.append(at, n);
      return 0;
    };
    x.on_header_value = [](http_parser* p, const char* at, size_t n) {
      static_cast<HttpRequestReader*>(p->data)->value_.append(at, n);
      return 0;
    };
    x.on_headers_complete = [](http_parser* p) {
      auto* r = static_cast<HttpRequestReader*>(p->data);
      r->store_header();
      if (p->content_length != ULLONG_MAX && p->content_length > r->max_body_) {
        // Refused now, without waiting for a body that may never end (a Content-Length of
        // 4 GiB): answered, then the connection closes, since the body is not read.
        r->request_.too_large = true;
        r->request_.method = static_cast<http_method>(p->method);
        r->request_.keep_alive = false;
        r->in_request_ = false;
        (*r->on_request_)(r->request_);
        http_parser_pause(p, 1);
        return 0;
      }
      // curl and others wait for this before sending a larger body (about 1 s otherwise).
      if (!r->request_.too_large && lower(r->request_.header("expect")) == "100-continue") {
        *r->interim_ += "HTTP/1.1 100 Continue\r\n\r\n";
      }
      return 0;
    };
    x.on_body = [](http_parser* p, const char* at, size_t n) {
      auto* r = static_cast<HttpRequestReader*>(p->data);
      if (r->request_.body.size() + n > r->max_body_) {
        r->request_.too_large = true;
        r->request_.body.clear();
        r->request_.body.shrink_to_fit();
      }
      if (!r->request_.too_large) r->request_.body.append(at, n);
      return 0;
    };
    x.on_message_complete = [](http_parser* p) {
      auto* r = static_cast<HttpRequestReader*>(p->data);
      r->in_request_ = false;
      r->request_.method = static_cast<http_method>(p->method);
      r->request_.keep_alive = http_should_keep_alive(p) != 0;
      (*r->on_request_)(r->request_);
      return 0;
    };
    return x;
  }();
  return s;
}

void HttpRequestReader::store_header() {
  if (!field_.empty()) request_.headers[lower(field_)] = value_;
  field_.clear();
  value_.clear();
}

bool HttpRequestReader::feed(const char* data, std::size_t n, const OnRequest& on_request, std::string* interim,
                             std::string* error) {
  on_request_ = &on_request;
  interim_ = interim;
  const std::size_t used = http_parser_execute(&parser_, &settings(), data, n);
  if (parser_.http_errno == HPE_PAUSED) return true;  // answered early: nothing more is read
  if (parser_.http_errno != HPE_OK || used != n) {
    *error = fmt::format("malformed HTTP request: {}",
                         http_errno_description(static_cast<http_errno>(parser_.http_errno)));
    return false;
  }
  return true;
}

}  // namespace otlpd
