// Batch formation: requests handed to the batch processor by several threads, grouped into
// batches of send_batch_size and handed to a no-op consumer. Measures the per-request cost of
// the lock-free handoff plus batching (no telemetry is copied).
#include <benchmark/benchmark.h>
#include <spdlog/sinks/null_sink.h>

#include <atomic>
#include <thread>
#include <vector>

#include "processors/batch/batch_processor.h"

namespace otlpd {
namespace {

class CountingConsumer final : public Consumer {
 public:
  ConsumeResult consume(Batch&& batch) noexcept override {
    items.fetch_add(batch.item_count(), std::memory_order_relaxed);
    return ConsumeResult::ok();
  }
  std::atomic<std::uint64_t> items{0};
};

void BM_BatchFormation(benchmark::State& state) {
  const int producers = static_cast<int>(state.range(0));
  constexpr int kRequests = 20000, kSpansPerRequest = 100;
  auto message = std::make_unique<otlp::TracesRequest>();
  auto* ss = message->add_resource_spans()->add_scope_spans();
  for (int i = 0; i < kSpansPerRequest; ++i) ss->add_spans()->set_name("span");
  const RequestPtr request = Request::adopt(Signal::traces, std::move(message));
  for (auto _ : state) {
    CountingConsumer sink;
    BatchProcessorConfig config;
    config.max_pending_items = 1 << 22;
    BatchProcessor batch({{"batch", ""}, std::make_shared<spdlog::logger>("b", std::make_shared<spdlog::sinks::null_sink_mt>()), {}},
                         config, sink);
    std::string error;
    batch.start(&error);
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&] {
        for (int i = 0; i < kRequests / producers; ++i) {
          while (!batch.consume(Batch::of(request)).is_ok()) std::this_thread::yield();
        }
      });
    }
    for (auto& t : threads) t.join();
    batch.shutdown();  // flushes the last partial batch
    if (sink.items.load() != static_cast<std::uint64_t>(kRequests / producers * producers * kSpansPerRequest)) {
      state.SkipWithError("items were lost");
    }
  }
  state.SetItemsProcessed(state.iterations() * kRequests);
  state.counters["spans/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * kRequests * kSpansPerRequest,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BatchFormation)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace otlpd
