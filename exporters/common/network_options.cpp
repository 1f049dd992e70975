#include "exporters/common/network_options.h"

#include <fmt/format.h>

namespace otlpd {

CompressionSetting parse_compression_option(ConfigNode& node, std::string_view default_name, std::string_view allowed) {
  CompressionSetting setting;
  if (std::string why; !parse_compression(node.get_string("compression", std::string(default_name)), allowed,
                                          &setting.encoding, &why)) {
    node.error("compression", why);
  }
  ConfigNode params = node.child("compression_params");
  setting.level = static_cast<int>(params.get_int("level", 0));
  params.finish();
  return setting;
}

void validate_compression_option(const CompressionSetting& setting, ConfigProblems& problems) {
  if (std::string why; !valid_compression_level(setting.encoding, setting.level, &why)) {
    problems.push_back({"compression_params::level", why});
  }
}

NetworkExporterOptions NetworkExporterOptions::parse(ConfigNode& node, std::chrono::milliseconds default_timeout,
                                                     std::string_view compressions) {
  NetworkExporterOptions o;
  o.headers = node.get_string_map("headers");
  o.compression = compressions.empty() ? CompressionSetting{} : parse_compression_option(node, "gzip", compressions);
  o.timeout = node.get_duration("timeout", default_timeout);
  o.retry = RetryConfig::parse(node);
  o.queue = SendingQueueConfig::parse(node, SendingQueueConfig{true, 10, 1000, SendingQueueConfig::Sizer::requests, 64, false});
  return o;
}

ConfigProblems NetworkExporterOptions::validate() const {
  ConfigProblems problems;
  if (timeout.count() <= 0) problems.push_back({"timeout", "must be greater than zero"});
  validate_compression_option(compression, problems);
  add_nested(problems, "retry_on_failure", retry.validate());
  add_nested(problems, "sending_queue", queue.validate());
  return problems;
}

}  // namespace otlpd
