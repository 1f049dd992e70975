#pragma once

#include <chrono>
#include <map>
#include <string>

#include "compression/compress.h"
#include "config/config_node.h"
#include "exporters/common/queued_exporter.h"
#include "exporters/common/retry.h"

namespace otlpd {

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
