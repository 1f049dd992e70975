#include "exporters/debug/debug_exporter.h"

namespace otlpd {
namespace {

class DebugSender final : public BatchSender {
 public:
  DebugSender(DebugVerbosity verbosity, std::shared_ptr<spdlog::logger> logger)
      : verbosity_(verbosity), logger_(std::move(logger)) {}

  ConsumeResult send(const Batch& batch) noexcept override {
    std::string dump = debug_dump(batch, verbosity_);
    if (!dump.empty() && dump.back() == '\n') dump.pop_back();  // the logger ends the line
    if (dump.empty()) {
      logger_->info("{} {}", to_string(batch.signal), debug_summary(batch));
    } else {
      logger_->info("{} {}\n{}", to_string(batch.signal), debug_summary(batch), dump);
    }
    return ConsumeResult::ok();
  }

 private:
  DebugVerbosity verbosity_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace

ConfigProblems DebugConfig::validate() const {
  ConfigProblems problems;
  add_nested(problems, "sending_queue", queue.validate());
  return problems;
}

DebugConfig DebugExporterFactory::parse(ConfigNode& node) const {
  DebugConfig config;
  const std::string v = node.get_enum("verbosity", "basic", {"basic", "normal", "detailed"});
  config.verbosity = v == "detailed" ? DebugVerbosity::detailed
                     : v == "normal" ? DebugVerbosity::normal
                                     : DebugVerbosity::basic;
  config.queue = SendingQueueConfig::parse(node, {});
  node.finish();
  return config;
}

std::unique_ptr<Exporter> DebugExporterFactory::make(const CreateSettings& settings, const DebugConfig& c) const {
  return std::make_unique<QueuedExporter>(settings, c.queue,
                                          std::make_unique<DebugSender>(c.verbosity, settings.logger));
}

}  // namespace otlpd
