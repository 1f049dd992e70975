#include "exporters/nop/nop_exporter.h"

#include <array>
#include <atomic>

namespace otlpd {
namespace {

class NopExporter final : public Exporter {
 public:
  explicit NopExporter(CreateSettings settings) : settings_(std::move(settings)) {}
  bool start(std::string*) override { return true; }
  void shutdown() noexcept override {
    if (stopped_.exchange(true)) return;
    for (Signal s : kAllSignals) {
      if (const auto n = discarded_[static_cast<std::size_t>(s)].load()) {
        settings_.logger->info("{}: discarded {} {}", to_string(s), n, item_name(s));
      }
    }
  }
  ConsumeResult consume(Batch&& batch) noexcept override {
    discarded_[static_cast<std::size_t>(batch.signal)].fetch_add(batch.item_count(), std::memory_order_relaxed);
    return ConsumeResult::ok();
  }

 private:
  CreateSettings settings_;
  std::array<std::atomic<std::uint64_t>, 3> discarded_{};
  std::atomic<bool> stopped_{false};
};

// Behind a sending queue: discards what the queue's workers hand it.
class NopSender final : public BatchSender {
 public:
  ConsumeResult send(const Batch&) noexcept override { return ConsumeResult::ok(); }
};

}  // namespace

ConfigProblems NopConfig::validate() const {
  ConfigProblems problems;
  if (queue) add_nested(problems, "sending_queue", queue->validate());
  return problems;
}

NopConfig NopExporterFactory::parse(ConfigNode& node) const {
  NopConfig config;
  if (node.has("sending_queue")) config.queue = SendingQueueConfig::parse(node, SendingQueueConfig{});
  node.finish();
  return config;
}

std::unique_ptr<Exporter> NopExporterFactory::make(const CreateSettings& settings, const NopConfig& config) const {
  if (config.queue) return std::make_unique<QueuedExporter>(settings, *config.queue, std::make_unique<NopSender>());
  return std::make_unique<NopExporter>(settings);
}

}  // namespace otlpd
