#pragma once
// The gRPC client of the OTLP/gRPC exporter (and jaeger's otlp_grpc protocol) is gRPC's own
// (libgrpc++), in the module grpc_client (modules/loadable_module.h): libgrpc, grpc++, Abseil,
// re2, c-ares and upb are mapped only into an otlpd whose configuration exports over gRPC.
// The receiver serves gRPC itself (net/GrpcServer).
#include <chrono>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "config/config_node.h"
#include "modules/loadable_module.h"

namespace otlpd {

struct GrpcChannelConfig {
  std::string target;  // host:port
  bool insecure = false;
  std::string ca_pem, cert_pem, key_pem;  // TLS: the files' contents (empty: system roots, no client cert)
  std::string server_name_override;
  bool gzip = false;  // announce gzip (grpc-encoding); the messages come compressed
};

struct GrpcCallOutcome {
  int code = 0;               // gRPC status code (0 OK)
  std::string message;        // grpc-message
  std::string error_details;  // grpc-status-details-bin: a serialized google.rpc.Status
  std::string response;       // the response message, when OK
};

struct GrpcClientModule {
  static constexpr std::string_view kModule = "grpc_client";
  static constexpr std::string_view kApiName = "GrpcClientModule";
  static constexpr unsigned kApiRevision = 1;

  ModuleHeader header;
  // A channel to `config.target` (its connections, reconnecting with a backoff of at most 5 s),
  // until destroy_channel. Null with *error.
  void* (*create_channel)(const GrpcChannelConfig& config, std::string* error);
  void (*destroy_channel)(void* channel);
  // One unary call of `method` whose message is `body`, the pieces appended (already compressed
  // when the channel announces gzip), with `metadata`, within `timeout`. Blocks; thread-safe.
  GrpcCallOutcome (*call)(void* channel, const char* method, std::span<const std::string_view> body,
                          const std::map<std::string, std::string>& metadata, std::chrono::milliseconds timeout);
};

// A configuration problem (key: the exporter itself) when the module is not installed.
ConfigProblems grpc_client_missing();
// The module, loaded once per process; null with *error (the exporter's start fails with it).
const GrpcClientModule* load_grpc_client(std::string* error);

}  // namespace otlpd
