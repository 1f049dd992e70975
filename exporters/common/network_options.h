#pragma once

#include <chrono>
#include <map>
#include <string>

#include "compression/compress.h"
#include "config/config_node.h"
#include "exporters/common/queued_exporter.h"
#include "exporters/common/retry.h"

namespace otlpd {

// `compression` (one of `allowed`, as kCompressingEncodings; `default_name` when absent) and
// `compression_params::level`, as every compressing exporter reads them (network exporters, file).
CompressionSetting parse_compression_option(ConfigNode& node, std::string_view default_name, std::string_view allowed);
// The setting's problems (an out-of-range level), keyed relative to the exporter.
void validate_compression_option(const CompressionSetting& setting, ConfigProblems& problems);

// The options every network exporter (otlp_grpc, otlp_http, jaeger) shares, with otelcol's
// names and defaults: headers, compression (gzip default) with compression_params::level,
// timeout, retry_on_failure and sending_queue (10 consumers, 1000 batches).
struct NetworkExporterOptions {
  std::map<std::string, std::string> headers;
  CompressionSetting compression{Encoding::gzip, 0};
  std::chrono::milliseconds timeout{5000};
  RetryConfig retry;
  SendingQueueConfig queue;

  // `compressions`: the `compression` values the exporter takes (as kCompressingEncodings), or
  // empty when it has no such option (jaeger's thrift_http).
  static NetworkExporterOptions parse(ConfigNode& node, std::chrono::milliseconds default_timeout,
                                      std::string_view compressions);
  // Keys relative to the exporter's mapping ("timeout", "sending_queue::queue_size").
  ConfigProblems validate() const;
};

}  // namespace otlpd
