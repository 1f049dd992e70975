#include "receiver/otlp/otlp_receiver_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace otlpd {

namespace {

// endpoint: host:port, checked.
std::string read_endpoint(ConfigNode& protocol, const std::string& fallback) {
  std::string endpoint = protocol.get_string("endpoint", fallback);
  std::string host;
  int port = 0;
  if (!split_endpoint(endpoint, &host, &port)) {
    protocol.error("endpoint", fmt::format("'{}' is not host:port", endpoint));
  }
  return endpoint;
}

// tls: absent or null means plain text.
std::optional<ServerTlsConfig> read_tls(ConfigNode& protocol, bool grpc) {
  ConfigNode node = protocol.child("tls");
  if (node.is_null()) return std::nullopt;
  ServerTlsConfig tls;
  for (auto [key, file] : {std::pair{"cert_file", &tls.cert_file}, std::pair{"key_file", &tls.key_file},
                           std::pair{"client_ca_file", &tls.client_ca_file}}) {
    *file = node.get_string(key, "");
    if (file->empty()) continue;
    if (std::FILE* f = std::fopen(file->c_str(), "rb")) {
      std::fclose(f);
    } else {
      node.error(key, fmt::format("cannot read '{}': {}", *file, std::strerror(errno)));
    }
  }
  if (tls.cert_file.empty()) node.error("cert_file", "is required to serve TLS");
  if (tls.key_file.empty()) node.error("key_file", "is required to serve TLS");
  tls.min_version = node.get_string("min_version", tls.min_version);
  if (tls.min_version != "1.2" && tls.min_version != "1.3") {
    node.error("min_version", fmt::format("'{}' is not a TLS version otlpd serves (1.2, 1.3)", tls.min_version));
  } else if (grpc && tls.min_version != "1.2") {
    node.error("min_version", "gRPC negotiates TLS 1.2 or 1.3 itself; only \"1.2\" is accepted here");
  }
  node.finish();
  return tls;
}

}  // namespace

std::unique_ptr<OtlpReceiverConfig> OtlpReceiverConfig::parse(ConfigNode& node) {
  auto config = std::make_unique<OtlpReceiverConfig>();
  ConfigNode protocols = node.child("protocols");
  if (protocols.is_null() || protocols.keys().empty()) {
    protocols.error("", "must enable at least one protocol (grpc, http)");
  }
  // "grpc:" with no options is null in YAML and means: all defaults.
  for (const std::string& key : protocols.keys()) {
    if (key == "grpc") {
      ConfigNode grpc = protocols.child("grpc");
      OtlpGrpcConfig g;
      g.endpoint = read_endpoint(grpc, g.endpoint);
      g.max_recv_msg_size_mib = grpc.get_int("max_recv_msg_size_mib", g.max_recv_msg_size_mib);
      if (g.max_recv_msg_size_mib <= 0 || g.max_recv_msg_size_mib > 2047) {
        grpc.error("max_recv_msg_size_mib", "must be between 1 and 2047");
      }
      g.max_concurrent_streams = grpc.get_int("max_concurrent_streams", 0);
      if (g.max_concurrent_streams < 0) grpc.error("max_concurrent_streams", "must be >= 0");
      g.num_threads = grpc.get_int("num_threads", g.num_threads);
      if (g.num_threads < 1 || g.num_threads > 64) grpc.error("num_threads", "must be between 1 and 64");
      g.tls = read_tls(grpc, /*grpc=*/true);
      grpc.finish();
      config->grpc = g;
    } else if (key == "http") {
      ConfigNode http = protocols.child("http");
      OtlpHttpConfig h;
      h.endpoint = read_endpoint(http, h.endpoint);
      const auto max = http.get_int("max_request_body_size", static_cast<std::int64_t>(h.max_request_body_size));
      if (max <= 0) http.error("max_request_body_size", "must be > 0 (bytes)");
      h.max_request_body_size = static_cast<std::uint64_t>(std::max<std::int64_t>(max, 1));
      const char* keys[3] = {"traces_url_path", "metrics_url_path", "logs_url_path"};
      for (std::size_t i = 0; i < 3; ++i) {
        h.paths[i] = http.get_string(keys[i], h.paths[i]);
        if (h.paths[i].empty() || h.paths[i][0] != '/') h.paths[i] = "/" + h.paths[i];
      }
      h.tls = read_tls(http, /*grpc=*/false);
      h.read_timeout = http.get_duration("read_timeout", h.read_timeout);
      h.idle_timeout = http.get_duration("idle_timeout", h.idle_timeout);
      if (h.read_timeout.count() <= 0) http.error("read_timeout", "must be > 0 (a request must end some time)");
      if (h.idle_timeout.count() <= 0) http.error("idle_timeout", "must be > 0");
      h.handler_threads = http.get_int("handler_threads", h.handler_threads);
      if (h.handler_threads < 0 || h.handler_threads > 64) http.error("handler_threads", "must be 0 to 64");
      ConfigNode cors = http.child("cors");
      h.cors.allowed_origins = cors.get_string_list("allowed_origins");
      h.cors.allowed_headers = cors.get_string_list("allowed_headers");
      h.cors.max_age = cors.get_int("max_age", 0);
      if (h.cors.max_age < 0) cors.error("max_age", "must be >= 0 (seconds)");
      for (const auto& origin : h.cors.allowed_origins) {
        if (std::count(origin.begin(), origin.end(), '*') > 1) {
          cors.error("allowed_origins", fmt::format("'{}' may hold at most one '*'", origin));
        }
      }
      cors.finish();
      http.finish();
      config->http = h;
    } else {
      protocols.error(key, "unknown protocol (known protocols: grpc, http)");
    }
  }
  node.finish();
  return config;
}

bool CorsConfig::origin_allowed(const std::string& origin) const {
  for (const auto& pattern : allowed_origins) {
    const auto star = pattern.find('*');
    if (star == std::string::npos) {
      if (pattern == origin) return true;
      continue;
    }
    const std::string_view prefix(pattern.data(), star), suffix(pattern.data() + star + 1, pattern.size() - star - 1);
    if (origin.size() >= prefix.size() + suffix.size() && origin.compare(0, prefix.size(), prefix) == 0 &&
        origin.compare(origin.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace otlpd
