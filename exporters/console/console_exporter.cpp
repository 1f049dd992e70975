#include "exporters/console/console_exporter.h"

#include <cstdio>

#include "otlp/json_encoder.h"
#include "exporters/common/stream_writer.h"
#include "exporters/console/pretty_json.h"

namespace otlpd {
namespace {

StreamWriter& stdout_writer() {
  static StreamWriter writer(stdout);  // one per process stream, shared by every console exporter
  return writer;
}

class ConsoleSender final : public BatchSender {
 public:
  explicit ConsoleSender(bool pretty) : pretty_(pretty) {}

  ConsumeResult send(const Batch& batch) noexcept override {
    std::string text;
    if (pretty_) append_pretty_json(text, batch);
    else append_otlp_json_lines(text, batch);
    if (!stdout_writer().write(text)) return ConsumeResult::permanent("cannot write to stdout");
    return ConsumeResult::ok();
  }

 private:
  bool pretty_;
};

}  // namespace

ConfigProblems ConsoleConfig::validate() const {
  ConfigProblems problems;
  add_nested(problems, "sending_queue", queue.validate());
  return problems;
}

ConsoleConfig ConsoleExporterFactory::parse(ConfigNode& node) const {
  ConsoleConfig config;
  config.pretty = node.get_enum("format", "pretty", {"pretty", "otlp_json"}) == "pretty";
  config.queue = SendingQueueConfig::parse(node, {});
  node.finish();
  return config;
}

std::unique_ptr<Exporter> ConsoleExporterFactory::make(const CreateSettings& settings, const ConsoleConfig& c) const {
  return std::make_unique<QueuedExporter>(settings, c.queue, std::make_unique<ConsoleSender>(c.pretty));
}

}  // namespace otlpd
