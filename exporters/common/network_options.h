#pragma once

#include <chrono>
#include <map>
#include <string>

#include "config/config_node.h"
#include "exporters/common/queued_exporter.h"
#include "exporters/common/retry.h"

namespace otlpd {

// The options every network exporter (otlp_grpc, otlp_http, jaeger) shares, with otelcol's
// names and defaults: headers, compression (gzip default), timeout, retry_on_failure and
// sending_queue (10 consumers, 1000 batches).
struct NetworkExporterOptions {
  std::map<std::string, std::string> headers;
  bool gzip = true;
  std::chrono::milliseconds timeout{5000};
  RetryConfig retry;
  SendingQueueConfig queue;

  // `compression`: whether the exporter has the option (jaeger's thrift_http has not).
  static NetworkExporterOptions parse(ConfigNode& node, std::chrono::milliseconds default_timeout, bool compression);
  // Keys relative to the exporter's mapping ("timeout", "sending_queue::queue_size").
  ConfigProblems validate() const;
};

}  // namespace otlpd
