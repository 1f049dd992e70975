#include "exporters/console/console_exporter.h"

#include <cstdio>

#include "otlp/json_encoder.h"
#include "exporters/common/stream_writer.h"
#include "exporters/console/pretty_json.h"

namespace otlpd {
namespace {

struct ConsoleConfig final : ComponentConfig {
  bool pretty = true;
  SendingQueueConfig queue;
};

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

std::unique_ptr<ComponentConfig> ConsoleExporterFactory::parse_config(ConfigNode& node) const {
  auto config = std::make_unique<ConsoleConfig>();
  config->pretty = node.get_enum("format", "pretty", {"pretty", "otlp_json"}) == "pretty";
  config->queue = SendingQueueConfig::parse(node, {});
  node.finish();
  return config;
}

std::unique_ptr<Exporter> ConsoleExporterFactory::create(const CreateSettings& settings,
                                                         const ComponentConfig& config) const {
  const auto& c = static_cast<const ConsoleConfig&>(config);
  return std::make_unique<QueuedExporter>(settings, c.queue, std::make_unique<ConsoleSender>(c.pretty));
}

}  // namespace otlpd
