#include "receiver/otlp/otlp_receiver_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace otlpd {

bool split_endpoint(const std::string& endpoint, std::string* host, int* port) {
  const std::size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos) return false;
  *host = endpoint.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  const char* first = endpoint.data() + colon + 1;
  const char* last = endpoint.data() + endpoint.size();
  auto [ptr, ec] = std::from_chars(first, last, *port);
  return ec == std::errc() && ptr == last && *port >= 0 && *port <= 65535;
}

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
