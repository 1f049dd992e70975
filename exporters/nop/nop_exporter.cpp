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

}  // namespace

NopConfig NopExporterFactory::parse(ConfigNode& node) const {
  node.finish();
  return {};
}

std::unique_ptr<Exporter> NopExporterFactory::make(const CreateSettings& settings, const NopConfig&) const {
  return std::make_unique<NopExporter>(settings);
}

}  // namespace otlpd
