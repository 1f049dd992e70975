#include "net/server_tls.h"

#include <fmt/format.h>
#include <openssl/ssl.h>

#include <cstring>

namespace otlpd {
namespace {

// ALPN: "h2" if the client offers it; otherwise no protocol is selected and the handshake goes
// on (a client speaking HTTP/2 with prior knowledge).
int select_h2(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
              unsigned int in_length, void*) {
  for (unsigned int i = 0; i < in_length;) {
    const unsigned int n = in[i];
    if (i + 1 + n > in_length) break;
    if (n == 2 && std::memcmp(in + i + 1, "h2", 2) == 0) {
      *out = in + i + 1;
      *out_length = 2;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + n;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

std::optional<asio::ssl::context> make_server_tls_context(const ServerTlsConfig& tls, std::string_view name,
                                                          bool alpn_h2, std::string* error) {
  asio::error_code ec;
  std::optional<asio::ssl::context> context(std::in_place, asio::ssl::context::tls_server);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1 | (tls.min_version == "1.3" ? asio::ssl::context::no_tlsv1_2 : 0),
                       ec);
  const auto fail = [&](std::string_view what, const std::string& file) {
    *error = fmt::format("{} TLS: cannot use {} '{}': {}", name, what, file, ec.message());
    return std::nullopt;
  };
  if (context->use_certificate_chain_file(tls.cert_file, ec); ec) return fail("cert_file", tls.cert_file);
  if (context->use_private_key_file(tls.key_file, asio::ssl::context::pem, ec); ec) return fail("key_file", tls.key_file);
  if (!tls.client_ca_file.empty()) {
    if (context->load_verify_file(tls.client_ca_file, ec); ec) return fail("client_ca_file", tls.client_ca_file);
    context->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert, ec);
  }
  if (alpn_h2) SSL_CTX_set_alpn_select_cb(context->native_handle(), &select_h2, nullptr);
  return context;
}

}  // namespace otlpd
