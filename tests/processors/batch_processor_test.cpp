#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "otlp/split.h"
#include "processors/batch/batch_processor.h"

namespace otlpd {
namespace {

using namespace std::chrono_literals;

CreateSettings settings() {
  return {{"batch", ""}, std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>()),
          {Signal::traces}};
}

// Spans named "<first>".."<first+n-1>", so order and identity can be checked after batching.
RequestPtr spans(int first, int n) {
  auto req = std::make_unique<otlp::TracesRequest>();
  auto* rs = req->add_resource_spans();
  rs->mutable_resource()->add_attributes()->set_key("service.name");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("scope");
  for (int i = 0; i < n; ++i) ss->add_spans()->set_name(std::to_string(first + i));
  return Request::adopt(Signal::traces, std::move(req));
}

std::vector<std::string> names(const Batch& batch) {
  std::vector<std::string> out;
  for (const auto& r : batch.requests)
    for (const auto& rs : r->traces().resource_spans())
      for (const auto& ss : rs.scope_spans())
        for (const auto& s : ss.spans()) out.push_back(s.name());
  return out;
}

// The next stage: records batches; can refuse like a full exporter queue.
class Downstream final : public Consumer {
 public:
  ConsumeResult consume(Batch&& batch) noexcept override {
    std::lock_guard lock(mutex_);
    ++calls_;
    if (refuse_) return ConsumeResult::retryable("queue full");
    batches_.push_back(std::move(batch));
    changed_.notify_all();
    return ConsumeResult::ok();
  }
  void set_refuse(bool refuse) {
    std::lock_guard lock(mutex_);
    refuse_ = refuse;
  }
  // Waits (up to a generous bound, for a hung processor) until `n` batches arrived.
  std::vector<Batch> wait_for(std::size_t n) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 30s, [&] { return batches_.size() >= n; });
    return batches_;
  }
  int calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool refuse_ = false;
  int calls_ = 0;
  std::vector<Batch> batches_;
};

BatchProcessorConfig config(std::int64_t size, std::int64_t max, std::chrono::milliseconds timeout,
                            std::int64_t pending = 1000) {
  BatchProcessorConfig c;
  c.send_batch_size = size;
  c.send_batch_max_size = max;
  c.timeout = timeout;
  c.max_pending_items = pending;
  return c;
}

TEST(BatchProcessor, GroupsRequestsWithoutCopyingThem) {
  Downstream next;
  BatchProcessor batch(settings(), config(100, 0, 1h), next);
  std::string error;
  ASSERT_TRUE(batch.start(&error));
  std::vector<const Request*> sent;
  for (int i = 0; i < 3; ++i) {
    RequestPtr r = spans(i * 40, 40);
    sent.push_back(r.get());
    ASSERT_TRUE(batch.consume(Batch::of(std::move(r))).is_ok());
  }
  auto batches = next.wait_for(1);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].item_count(), 120u);
  ASSERT_EQ(batches[0].requests.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(batches[0].requests[static_cast<std::size_t>(i)].get(), sent[static_cast<std::size_t>(i)]);
  batch.shutdown();
}

// The worker holding a batch sleeps until its timeout (1 h here) and is woken only by the
// request that fills it: a lost wake-up would leave wait_for() empty-handed.
TEST(BatchProcessor, TheRequestThatFillsABatchWakesTheSleepingWorker) {
  Downstream next;
  BatchProcessor batch(settings(), config(100, 0, 1h, 100000), next);
  std::string error;
  ASSERT_TRUE(batch.start(&error));
  for (int i = 0; i < 50; ++i) {  // pauses between requests: the worker goes back to sleep
    ASSERT_TRUE(batch.consume(Batch::of(spans(i * 10, 10))).is_ok());
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(next.wait_for(5).size(), 5u);
  // Four producers at once, 2,000 requests of one span each: 20 more batches, nothing waits.
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t) {
    producers.emplace_back([&batch, t] {
      for (int i = 0; i < 500; ++i) {
        while (!batch.consume(Batch::of(spans(1000 + t * 500 + i, 1))).is_ok()) std::this_thread::yield();
      }
    });
  }
  for (auto& producer : producers) producer.join();
  EXPECT_EQ(next.wait_for(25).size(), 25u);
  batch.shutdown();
}

TEST(BatchProcessor, SendsAPartialBatchAfterTheTimeout) {
  Downstream next;
  BatchProcessor batch(settings(), config(1000, 0, 20ms), next);
  std::string error;
  ASSERT_TRUE(batch.start(&error));
  ASSERT_TRUE(batch.consume(Batch::of(spans(0, 5))).is_ok());
  auto batches = next.wait_for(1);  // no size trigger: only the timeout can send it
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].item_count(), 5u);
  batch.shutdown();
}

TEST(BatchProcessor, NeverExceedsSendBatchMaxSizeAndKeepsOrder) {
  Downstream next;
  BatchProcessor batch(settings(), config(10, 10, 1h), next);
  std::string error;
  ASSERT_TRUE(batch.start(&error));
  ASSERT_TRUE(batch.consume(Batch::of(spans(0, 7))).is_ok());
  ASSERT_TRUE(batch.consume(Batch::of(spans(7, 25))).is_ok());
  batch.shutdown();  // flushes the remainder
  auto batches = next.wait_for(4);
  std::vector<std::string> all;
  for (const auto& b : batches) {
    EXPECT_LE(b.item_count(), 10u);
    for (auto& n : names(b)) all.push_back(n);
  }
  ASSERT_EQ(all.size(), 32u);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(all[static_cast<std::size_t>(i)], std::to_string(i));
  EXPECT_EQ(batches[0].item_count(), 7u);  // closed before the big request, then 10, 10, 5
}

TEST(BatchProcessor, KeepsRefusedBatchesAndPushesBackInsteadOfDropping) {
  Downstream next;
  next.set_refuse(true);
  BatchProcessor batch(settings(), config(10, 0, 1h, /*pending=*/30), next);
  std::string error;
  ASSERT_TRUE(batch.start(&error));
  int accepted = 0;
  ConsumeResult refused;
  for (int i = 0; i < 10; ++i) {
    ConsumeResult r = batch.consume(Batch::of(spans(i * 10, 10)));
    if (r.is_ok()) ++accepted;
    else refused = r;
  }
  EXPECT_EQ(accepted, 3);  // 30 pending items is the bound
  EXPECT_EQ(refused.code, ConsumeResult::Code::retryable);
  EXPECT_THAT(refused.message, ::testing::HasSubstr("batch processor batch is full"));
  EXPECT_EQ(batch.admit(Signal::traces, 100).code, ConsumeResult::Code::retryable);
  while (next.calls() < 3) std::this_thread::yield();  // it is retrying
  next.set_refuse(false);
  auto batches = next.wait_for(3);
  std::size_t items = 0;
  for (const auto& b : batches) items += b.item_count();
  EXPECT_EQ(items, 30u);
  batch.shutdown();
  EXPECT_EQ(batch.pending_items(), 0u);
}

TEST(BatchProcessor, ShutdownWithoutStartIsSafe) {
  Downstream next;
  BatchProcessor batch(settings(), config(10, 0, 1h), next);
  batch.shutdown();
  batch.shutdown();
}

TEST(SplitRequest, SplitsLogsAndRepeatsResourceAndScope) {
  auto req = std::make_unique<otlp::LogsRequest>();
  for (int r = 0; r < 2; ++r) {
    auto* rl = req->add_resource_logs();
    rl->set_schema_url("schema" + std::to_string(r));
    auto* sl = rl->add_scope_logs();
    sl->mutable_scope()->set_name("scope" + std::to_string(r));
    for (int i = 0; i < 3; ++i) sl->add_log_records()->mutable_body()->set_int_value(r * 3 + i);
  }
  auto [head, tail] = split_request(*Request::adopt(Signal::logs, std::move(req)), 4);
  EXPECT_EQ(head->item_count(), 4u);
  EXPECT_EQ(tail->item_count(), 2u);
  ASSERT_EQ(head->logs().resource_logs_size(), 2);
  EXPECT_EQ(head->logs().resource_logs(1).schema_url(), "schema1");
  EXPECT_EQ(head->logs().resource_logs(1).scope_logs(0).scope().name(), "scope1");
  EXPECT_EQ(head->logs().resource_logs(1).scope_logs(0).log_records(0).body().int_value(), 3);
  ASSERT_EQ(tail->logs().resource_logs_size(), 1);
  EXPECT_EQ(tail->logs().resource_logs(0).scope_logs(0).scope().name(), "scope1");
  EXPECT_EQ(tail->logs().resource_logs(0).scope_logs(0).log_records(0).body().int_value(), 4);
}

TEST(SplitRequest, MetricsSplitAtWholeMetrics) {
  auto req = std::make_unique<otlp::MetricsRequest>();
  auto* sm = req->add_resource_metrics()->add_scope_metrics();
  for (int m = 0; m < 3; ++m) {
    auto* gauge = sm->add_metrics()->mutable_gauge();
    for (int p = 0; p < 3; ++p) gauge->add_data_points();
  }
  auto [head, tail] = split_request(*Request::adopt(Signal::metrics, std::move(req)), 5);
  EXPECT_EQ(head->item_count(), 3u);  // the second metric (3 more points) would exceed 5
  EXPECT_EQ(tail->item_count(), 6u);
}

}  // namespace
}  // namespace otlpd
