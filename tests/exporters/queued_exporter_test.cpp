#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include <condition_variable>
#include <mutex>

#include "exporters/common/queued_exporter.h"
#include "support/config_support.h"

namespace otlpd {
namespace {

using ::testing::HasSubstr;

// A sender that holds its first batch until released, so that the queue fills behind it.
class GatedSender final : public BatchSender {
 public:
  ConsumeResult send(const Batch& batch) noexcept override {
    std::unique_lock lock(mutex_);
    ++started_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    items_ += batch.item_count();
    return ConsumeResult::ok();
  }
  void wait_started() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return started_ > 0; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  std::size_t items() {
    std::lock_guard lock(mutex_);
    return items_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  int started_ = 0;
  std::size_t items_ = 0;
};

Batch spans(int n, std::size_t name_bytes = 10) {
  auto req = std::make_unique<otlp::TracesRequest>();
  auto* ss = req->add_resource_spans()->add_scope_spans();
  for (int i = 0; i < n; ++i) ss->add_spans()->set_name(std::string(name_bytes, 'n'));
  return Batch::of(Request::adopt(Signal::traces, std::move(req)));
}

CreateSettings settings() {
  return {{"file", ""}, std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>()), {}};
}

// Fills the exporter: the first batch is held by the sender, the rest wait in the queue.
std::pair<int, ConsumeResult> fill(QueuedExporter& exporter, GatedSender& sender, int spans_per_batch,
                                   std::size_t name_bytes = 10) {
  EXPECT_TRUE(exporter.consume(spans(spans_per_batch, name_bytes)).is_ok());
  sender.wait_started();
  int accepted = 0;
  for (int i = 0; i < 100; ++i) {
    ConsumeResult r = exporter.consume(spans(spans_per_batch, name_bytes));
    if (!r.is_ok()) return {accepted, r};
    ++accepted;
  }
  return {accepted, ConsumeResult::ok()};
}

TEST(SendingQueue, RequestsSizerCountsBatches) {
  auto sender = std::make_unique<GatedSender>();
  GatedSender* gate = sender.get();
  SendingQueueConfig config;
  config.queue_size = 3;
  QueuedExporter exporter(settings(), config, std::move(sender));
  std::string error;
  ASSERT_TRUE(exporter.start(&error));
  auto [accepted, refused] = fill(exporter, *gate, 5);
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(refused.code, ConsumeResult::Code::retryable);
  EXPECT_THAT(refused.message, HasSubstr("sending queue of exporter file is full: 3 batches queued + 1 incoming > queue_size 3"));
  EXPECT_EQ(exporter.admit(Signal::traces, 10).code, ConsumeResult::Code::retryable);
  gate->open();
  exporter.shutdown();  // drains the queue
  EXPECT_EQ(gate->items(), 20u);
  EXPECT_EQ(exporter.sent(Signal::traces), 20u);
}

TEST(SendingQueue, ItemsSizerCountsSpans) {
  auto sender = std::make_unique<GatedSender>();
  GatedSender* gate = sender.get();
  SendingQueueConfig config;
  config.queue_size = 25;
  config.sizer = SendingQueueConfig::Sizer::items;
  QueuedExporter exporter(settings(), config, std::move(sender));
  std::string error;
  ASSERT_TRUE(exporter.start(&error));
  auto [accepted, refused] = fill(exporter, *gate, 10);
  EXPECT_EQ(accepted, 2);  // 20 of 25 items; a third batch would make 30
  EXPECT_THAT(refused.message, HasSubstr("20 items queued + 10 incoming > queue_size 25"));
  gate->open();
}

TEST(SendingQueue, MaxSizeMibBoundsQueuedBytesWhateverTheSizer) {
  auto sender = std::make_unique<GatedSender>();
  GatedSender* gate = sender.get();
  SendingQueueConfig config;
  config.queue_size = 1000;  // otelcol's default: would allow 1000 batches
  config.max_size_mib = 1;
  QueuedExporter exporter(settings(), config, std::move(sender));
  std::string error;
  ASSERT_TRUE(exporter.start(&error));
  auto [accepted, refused] = fill(exporter, *gate, 10, 30'000);  // ~300 KB per batch
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(refused.code, ConsumeResult::Code::retryable);
  gate->open();
}

TEST(SendingQueue, ConfigParsesSizerAndRejectsBadValues) {
  ConfigErrors errors;
  ConfigNode node(YAML::Load("{sending_queue: {sizer: items, queue_size: 5000, max_size_mib: 64}}"), "exporters::file", &errors);
  auto c = SendingQueueConfig::parse(node, {});
  EXPECT_TRUE(errors.empty()) << errors.joined();
  EXPECT_EQ(c.sizer, SendingQueueConfig::Sizer::items);
  EXPECT_EQ(c.max_size_mib, 64);
  EXPECT_TRUE(c.validate().empty());
  // Reading checks the sizer's word; validate() the numbers.
  ConfigNode bad(YAML::Load("{sending_queue: {sizer: spans, num_consumers: 0, queue_size: 0, max_size_mib: 0}}"),
                 "exporters::file", &errors);
  const SendingQueueConfig b = SendingQueueConfig::parse(bad, {});
  EXPECT_THAT(errors.all(), ::testing::ElementsAre(
      "exporters::file::sending_queue::sizer: 'spans' is not one of: requests, items, bytes"));
  EXPECT_THAT(b.validate(), ::testing::ElementsAre(ConfigProblem{"max_size_mib", "must be > 0"},
                                                  ConfigProblem{"num_consumers", "must be between 1 and 1024"},
                                                  ConfigProblem{"queue_size", "must be > 0"}));
  SendingQueueConfig many;
  many.num_consumers = 1025;
  EXPECT_THAT(many.validate(), ::testing::ElementsAre(ConfigProblem{"num_consumers", "must be between 1 and 1024"}));
}

}  // namespace
}  // namespace otlpd
