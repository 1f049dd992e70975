#include "exporters/common/network_options.h"

#include <fmt/format.h>

namespace otlpd {

NetworkExporterOptions NetworkExporterOptions::parse(ConfigNode& node, std::chrono::milliseconds default_timeout,
                                                     std::string_view compressions) {
  NetworkExporterOptions o;
  o.headers = node.get_string_map("headers");
  if (!compressions.empty()) {
    std::string why;
    if (!parse_compression(node.get_string("compression", "gzip"), compressions, &o.compression.encoding, &why)) {
      node.error("compression", why);
    }
    ConfigNode params = node.child("compression_params");
    o.compression.level = static_cast<int>(params.get_int("level", 0));
    params.finish();
  } else {
    o.compression = {};
  }
  o.timeout = node.get_duration("timeout", default_timeout);
  o.retry = RetryConfig::parse(node);
  o.queue = SendingQueueConfig::parse(node, SendingQueueConfig{true, 10, 1000, SendingQueueConfig::Sizer::requests, 64, false});
  return o;
}

ConfigProblems NetworkExporterOptions::validate() const {
  ConfigProblems problems;
  if (timeout.count() <= 0) problems.push_back({"timeout", "must be greater than zero"});
  if (std::string why; !valid_compression_level(compression.encoding, compression.level, &why)) {
    problems.push_back({"compression_params::level", why});
  }
  add_nested(problems, "retry_on_failure", retry.validate());
  add_nested(problems, "sending_queue", queue.validate());
  return problems;
}

}  // namespace otlpd
