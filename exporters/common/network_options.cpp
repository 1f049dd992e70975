#include "exporters/common/network_options.h"

#include <fmt/format.h>

namespace otlpd {

NetworkExporterOptions NetworkExporterOptions::parse(ConfigNode& node, std::chrono::milliseconds default_timeout,
                                                     bool compression) {
  NetworkExporterOptions o;
  o.headers = node.get_string_map("headers");
  if (compression) {
    const std::string c = node.get_string("compression", "gzip");
    if (c == "none" || c.empty()) o.gzip = false;
    else if (c != "gzip") node.error("compression", fmt::format("'{}' is not supported (gzip or none)", c));
  } else {
    o.gzip = false;
  }
  o.timeout = node.get_duration("timeout", default_timeout);
  o.retry = RetryConfig::parse(node);
  o.queue = SendingQueueConfig::parse(node, SendingQueueConfig{true, 10, 1000, SendingQueueConfig::Sizer::requests, 64, false});
  return o;
}

ConfigProblems NetworkExporterOptions::validate() const {
  ConfigProblems problems;
  if (timeout.count() <= 0) problems.push_back({"timeout", "must be greater than zero"});
  add_nested(problems, "retry_on_failure", retry.validate());
  add_nested(problems, "sending_queue", queue.validate());
  return problems;
}

}  // namespace otlpd
