#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config_node.h"
#include "net/http_server.h"
#include "pipeline/typed_factory.h"

namespace otlpd {

struct OtlpGrpcConfig {
  std::string endpoint = "localhost:4317";
  std::int64_t max_recv_msg_size_mib = 4;  // gRPC's and otelcol's default
  std::int64_t max_concurrent_streams = 0;  // 0: gRPC's default
  // otlpd: threads polling gRPC and handling calls. One is the most CPU-efficient (several
  // pollers contend inside gRPC; measured in bench/); more add throughput on big machines.
  std::int64_t num_threads = 1;
  std::optional<ServerTlsConfig> tls;

  ConfigProblems validate() const;  // keys relative to protocols::grpc
};

// protocols::http::cors, as in otelcol (for browser SDKs).
struct CorsConfig {
  std::vector<std::string> allowed_origins;  // exact, "*", or one wildcard: "https://*.example.com"
  std::vector<std::string> allowed_headers;  // besides Accept, Content-Type, X-Requested-With
  std::int64_t max_age = 0;                  // seconds a preflight may be cached; 0: not sent

  bool origin_allowed(const std::string& origin) const;
  ConfigProblems validate() const;  // keys relative to cors
};

struct OtlpHttpConfig {
  std::string endpoint = "localhost:4318";
  CorsConfig cors;
  std::int64_t max_request_body_size = 20 * 1024 * 1024;  // otelcol's default; after decompression too
  std::array<std::string, 3> paths = {"/v1/traces", "/v1/metrics", "/v1/logs"};  // *_url_path
  std::optional<ServerTlsConfig> tls;
  // A request must arrive whole within read_timeout of its first byte (a slow or stuck client
  // is cut off; otelcol has no limit by default); a kept-alive connection with no request
  // for idle_timeout is closed (otelcol's default, 1 minute).
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  // Threads that answer requests (otlpd), apart from the one that reads them, so that a client
  // whose request waits on the pipeline (a full queue with block_on_overflow) holds only its
  // own connection. 0: the reading thread answers too.
  std::int64_t handler_threads = 2;

  ConfigProblems validate() const;  // keys relative to protocols::http
};

// receivers::otlp: the same keys as the OpenTelemetry Collector's otlp receiver.
struct OtlpReceiverConfig final : ComponentConfig {
  std::optional<OtlpGrpcConfig> grpc;
  std::optional<OtlpHttpConfig> http;

  // Reads the options (validate() checks them); problems go to node.errors() with their paths.
  static OtlpReceiverConfig parse(ConfigNode& node);
  ConfigProblems validate() const;
};


}  // namespace otlpd
