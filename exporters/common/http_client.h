#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "config/config_node.h"
#include "modules/loadable_module.h"

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

// The HTTP client (libcurl) lives in the module http_curl (modules/loadable_module.h), so that
// libcurl and what it links (GnuTLS, Kerberos, LDAP, SSH, RTMP, ...) are mapped only into an
// otlpd whose configuration has an HTTP exporter: such an exporter checks that the module is
// installed when its configuration is validated (http_client_missing()) and loads it when it
// starts (load_http_client()).
struct HttpClientModule {
  static constexpr std::string_view kModule = "http_curl";
  static constexpr std::string_view kApiName = "HttpClientModule";
  static constexpr unsigned kApiRevision = 1;

  ModuleHeader header;
  // POSTs `body`, keeping one connection per calling thread alive between requests. Thread-safe
  // (each thread has its own handle). `content_encoding`: the body's Content-Encoding (gzip,
  // zstd, ...), or empty.
  HttpResponse (*post)(const std::string& url, std::string_view body, std::string_view content_type,
                       std::string_view content_encoding, const std::map<std::string, std::string>& headers,
                       std::chrono::milliseconds timeout, const HttpTlsConfig& tls);
};

// A configuration problem (key: the exporter itself) when the module is not installed.
ConfigProblems http_client_missing();
// The module, loaded once per process; null with *error (the exporter's start fails with it).
const HttpClientModule* load_http_client(std::string* error);

}  // namespace otlpd
