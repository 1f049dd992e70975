// Queue handoff across threads: producers push, one consumer pops. BoundedQueue (lock-free,
// moodycamel) against LockedQueue (mutex + condition variables), the baseline.
#include <benchmark/benchmark.h>

#include <thread>
#include <vector>

#include "pipeline/bounded_queue.h"
#include "pipeline/locked_queue.h"

namespace otlpd {
namespace {

template <typename Queue>
void BM_Handoff(benchmark::State& state) {
  const int producers = static_cast<int>(state.range(0));
  constexpr int kItems = 200'000;
  for (auto _ : state) {
    Queue queue(1024);
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&] {
        for (int i = 0; i < kItems / producers; ++i) {
          while (!queue.try_push(std::uint64_t(i))) std::this_thread::yield();
        }
      });
    }
    std::uint64_t sum = 0;
    for (int received = 0; received < kItems / producers * producers;) {
      if (auto item = queue.pop_for(std::chrono::milliseconds(100))) {
        sum += *item;
        ++received;
      }
    }
    for (auto& t : threads) t.join();
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}
BENCHMARK(BM_Handoff<BoundedQueue<std::uint64_t>>)->Name("BM_Handoff/lockfree")->Arg(1)->Arg(4)->UseRealTime();
BENCHMARK(BM_Handoff<LockedQueue<std::uint64_t>>)->Name("BM_Handoff/mutex")->Arg(1)->Arg(4)->UseRealTime();

}  // namespace
}  // namespace otlpd
BENCHMARK_MAIN();
