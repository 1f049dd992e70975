#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "config/config_node.h"

namespace otlpd {

// TLS options of an HTTP exporter (otelcol's tls block, the parts that apply to HTTP).
struct HttpTlsConfig {
  std::string ca_file, cert_file, key_file;
  bool insecure_skip_verify = false;

  // Reads the exporter's "tls" block (insecure is accepted and means nothing for http:// URLs).
  static HttpTlsConfig parse(ConfigNode& exporter);
  // Keys relative to the tls mapping (the owner adds "tls::").
  ConfigProblems validate() const;
};

struct HttpResponse {
  bool sent = false;          // false: no HTTP response (connection refused, timeout, ...)
  std::string error;          // why, when not sent
  long status = 0;
  std::string body;
  std::optional<std::chrono::milliseconds> retry_after;  // Retry-After, in seconds
};

// POSTs with libcurl, keeping one connection per calling thread alive between requests.
// Thread-safe (each thread has its own handle). `content_encoding`: the body's Content-Encoding
// (gzip, zstd, ...), or empty.
HttpResponse http_post(const std::string& url, std::string_view body, std::string_view content_type,
                       std::string_view content_encoding, const std::map<std::string, std::string>& headers,
                       std::chrono::milliseconds timeout, const HttpTlsConfig& tls);

}  // namespace otlpd
