#pragma once
// The TLS side of otlpd's servers (OTLP/HTTP, OTLP/gRPC, the query API): one OpenSSL context
// per server, made from otelcol's configtls server settings.
#include <optional>
#include <string>
#include <string_view>

#include <asio/ssl/context.hpp>

namespace otlpd {

// tls: of a server (otelcol's configtls server settings). PEM files, read at start.
struct ServerTlsConfig {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // set: every client must present a certificate signed by it
  std::string min_version = "1.2";  // "1.2" or "1.3"
};

// A server context for `tls`, or nullopt with *error naming the file that could not be used
// ("<name> TLS: cannot use cert_file '...': ..."). With `alpn_h2`, the server selects "h2" when
// the client offers it (gRPC clients require that ALPN says HTTP/2).
std::optional<asio::ssl::context> make_server_tls_context(const ServerTlsConfig& tls, std::string_view name,
                                                          bool alpn_h2, std::string* error);

}  // namespace otlpd
