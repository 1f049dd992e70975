#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "exporters/common/http_client.h"
#include "exporters/common/network_options.h"
#include "exporters/common/queued_exporter.h"
#include "exporters/common/retry.h"
#include "pipeline/component.h"

namespace otlpd {

// exporters::jaeger with protocol: thrift_http.
struct JaegerThriftConfig final : ComponentConfig {
  std::string url;  // the collector's /api/traces
  HttpTlsConfig tls;
  NetworkExporterOptions net;  // headers, timeout, retry, queue (no compression)

  // Reads the options (validate() checks them).
  static JaegerThriftConfig parse(ConfigNode& node);
  ConfigProblems validate() const;
};

std::unique_ptr<Exporter> create_jaeger_thrift_exporter(const CreateSettings& settings,
                                                        const JaegerThriftConfig& config);

}  // namespace otlpd
