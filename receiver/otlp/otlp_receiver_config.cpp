#include "receiver/otlp/otlp_receiver_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace otlpd {

namespace {

// tls: absent or null means plain text.
std::optional<ServerTlsConfig> read_tls(ConfigNode& protocol) {
  ConfigNode node = protocol.child("tls");
  if (node.is_null()) return std::nullopt;
  ServerTlsConfig tls;
  tls.cert_file = node.get_string("cert_file", "");
  tls.key_file = node.get_string("key_file", "");
  tls.client_ca_file = node.get_string("client_ca_file", "");
  tls.min_version = node.get_string("min_version", tls.min_version);
  node.finish();
  return tls;
}

// Keys relative to the tls mapping. The files must be readable now, so that a mistake is
// reported with the configuration rather than when the server starts.
ConfigProblems validate_tls(const ServerTlsConfig& tls) {
  ConfigProblems problems;
  for (auto [key, file] : {std::pair{"cert_file", &tls.cert_file}, std::pair{"key_file", &tls.key_file},
                           std::pair{"client_ca_file", &tls.client_ca_file}}) {
    if (file->empty()) continue;
    if (std::FILE* f = std::fopen(file->c_str(), "rb")) {
      std::fclose(f);
    } else {
      problems.push_back({key, fmt::format("cannot read '{}': {}", *file, std::strerror(errno))});
    }
  }
  if (tls.cert_file.empty()) problems.push_back({"cert_file", "is required to serve TLS"});
  if (tls.key_file.empty()) problems.push_back({"key_file", "is required to serve TLS"});
  if (tls.min_version != "1.2" && tls.min_version != "1.3") {
    problems.push_back(
        {"min_version", fmt::format("'{}' is not a TLS version otlpd serves (1.2, 1.3)", tls.min_version)});
  }
  return problems;
}

void validate_endpoint(const std::string& endpoint, ConfigProblems& problems) {
  std::string host;
  int port = 0;
  if (!split_endpoint(endpoint, &host, &port)) {
    problems.push_back({"endpoint", fmt::format("'{}' is not host:port", endpoint)});
  }
}

}  // namespace

OtlpReceiverConfig OtlpReceiverConfig::parse(ConfigNode& node) {
  OtlpReceiverConfig config;
  ConfigNode protocols = node.child("protocols");
  // "grpc:" with no options is null in YAML and means: all defaults.
  for (const std::string& key : protocols.keys()) {
    if (key == "grpc") {
      ConfigNode grpc = protocols.child("grpc");
      OtlpGrpcConfig g;
      g.endpoint = grpc.get_string("endpoint", g.endpoint);
      g.max_recv_msg_size_mib = grpc.get_int("max_recv_msg_size_mib", g.max_recv_msg_size_mib);
      g.max_concurrent_streams = grpc.get_int("max_concurrent_streams", g.max_concurrent_streams);
      g.num_threads = grpc.get_int("num_threads", g.num_threads);
      g.tls = read_tls(grpc);
      grpc.finish();
      config.grpc = g;
    } else if (key == "http") {
      ConfigNode http = protocols.child("http");
      OtlpHttpConfig h;
      h.endpoint = http.get_string("endpoint", h.endpoint);
      h.max_request_body_size = http.get_int("max_request_body_size", h.max_request_body_size);
      const char* keys[3] = {"traces_url_path", "metrics_url_path", "logs_url_path"};
      for (std::size_t i = 0; i < 3; ++i) {
        h.paths[i] = http.get_string(keys[i], h.paths[i]);
        if (h.paths[i].empty() || h.paths[i][0] != '/') h.paths[i] = "/" + h.paths[i];
      }
      h.tls = read_tls(http);
      h.read_timeout = http.get_duration("read_timeout", h.read_timeout);
      h.idle_timeout = http.get_duration("idle_timeout", h.idle_timeout);
      h.handler_threads = http.get_int("handler_threads", h.handler_threads);
      ConfigNode cors = http.child("cors");
      h.cors.allowed_origins = cors.get_string_list("allowed_origins");
      h.cors.allowed_headers = cors.get_string_list("allowed_headers");
      h.cors.max_age = cors.get_int("max_age", h.cors.max_age);
      cors.finish();
      http.finish();
      config.http = h;
    } else {
      protocols.error(key, "unknown protocol (known protocols: grpc, http)");
    }
  }
  node.finish();
  return config;
}

ConfigProblems OtlpGrpcConfig::validate() const {
  ConfigProblems problems;
  validate_endpoint(endpoint, problems);
  if (max_recv_msg_size_mib <= 0 || max_recv_msg_size_mib > 2047) {
    problems.push_back({"max_recv_msg_size_mib", "must be between 1 and 2047"});
  }
  if (max_concurrent_streams < 0) problems.push_back({"max_concurrent_streams", "must be >= 0"});
  if (num_threads < 1 || num_threads > 64) problems.push_back({"num_threads", "must be between 1 and 64"});
  if (tls) add_nested(problems, "tls", validate_tls(*tls));
  return problems;
}

ConfigProblems CorsConfig::validate() const {
  ConfigProblems problems;
  if (max_age < 0) problems.push_back({"max_age", "must be >= 0 (seconds)"});
  for (const auto& origin : allowed_origins) {
    if (std::count(origin.begin(), origin.end(), '*') > 1) {
      problems.push_back({"allowed_origins", fmt::format("'{}' may hold at most one '*'", origin)});
    }
  }
  return problems;
}

ConfigProblems OtlpHttpConfig::validate() const {
  ConfigProblems problems;
  validate_endpoint(endpoint, problems);
  if (max_request_body_size <= 0) problems.push_back({"max_request_body_size", "must be > 0 (bytes)"});
  if (tls) add_nested(problems, "tls", validate_tls(*tls));
  if (read_timeout.count() <= 0) problems.push_back({"read_timeout", "must be > 0 (a request must end some time)"});
  if (idle_timeout.count() <= 0) problems.push_back({"idle_timeout", "must be > 0"});
  if (handler_threads < 0 || handler_threads > 64) problems.push_back({"handler_threads", "must be 0 to 64"});
  add_nested(problems, "cors", cors.validate());
  return problems;
}

ConfigProblems OtlpReceiverConfig::validate() const {
  ConfigProblems problems;
  if (!grpc && !http) problems.push_back({"protocols", "must enable at least one protocol (grpc, http)"});
  if (grpc) add_nested(problems, "protocols::grpc", grpc->validate());
  if (http) add_nested(problems, "protocols::http", http->validate());
  return problems;
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
