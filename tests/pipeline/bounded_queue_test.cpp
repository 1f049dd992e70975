#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "pipeline/bounded_queue.h"
#include "pipeline/locked_queue.h"

namespace otlpd {
namespace {

using namespace std::chrono_literals;

template <typename Q>
class QueueTest : public ::testing::Test {};
using Queues = ::testing::Types<BoundedQueue<int>, LockedQueue<int>>;
TYPED_TEST_SUITE(QueueTest, Queues);

TYPED_TEST(QueueTest, RefusesWhenFullAndAcceptsAgainAfterAPop) {
  TypeParam q(3);
  EXPECT_TRUE(q.try_push(1));
  EXPECT_TRUE(q.try_push(2));
  EXPECT_TRUE(q.try_push(3));
  EXPECT_FALSE(q.try_push(4));
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.pop_for(1s), 1);
  EXPECT_TRUE(q.try_push(5));
  EXPECT_FALSE(q.try_push(6));
}

TYPED_TEST(QueueTest, PopTimesOutWhenEmpty) {
  TypeParam q(1);
  EXPECT_EQ(q.pop_for(1ms), std::nullopt);
  EXPECT_FALSE(q.closed_and_empty());
}

TYPED_TEST(QueueTest, CloseRefusesPushesAndDrainsWhatIsLeft) {
  TypeParam q(4);
  ASSERT_TRUE(q.try_push(1));
  ASSERT_TRUE(q.try_push(2));
  q.close();
  EXPECT_FALSE(q.try_push(3));
  EXPECT_FALSE(q.closed_and_empty());
  EXPECT_EQ(q.pop_for(1s), 1);
  EXPECT_EQ(q.pop_for(1s), 2);
  EXPECT_EQ(q.pop_for(1s), std::nullopt);
  EXPECT_TRUE(q.closed_and_empty());
}

TYPED_TEST(QueueTest, BlockingPushWaitsForRoomAndCloseReleasesIt) {
  TypeParam q(1);
  ASSERT_TRUE(q.try_push(1));
  std::thread producer([&] { EXPECT_TRUE(q.push(2)); });
  EXPECT_EQ(q.pop_for(10s), 1);
  EXPECT_EQ(q.pop_for(10s), 2);
  producer.join();

  ASSERT_TRUE(q.try_push(3));
  std::thread blocked([&] { EXPECT_FALSE(q.push(4)); });
  q.close();
  blocked.join();
}

TYPED_TEST(QueueTest, EveryItemIsDeliveredExactlyOnceAcrossThreads) {
  constexpr int kProducers = 4, kConsumers = 3, kPerProducer = 20000;
  TypeParam q(64);
  std::vector<std::vector<int>> received(kConsumers);
  std::vector<std::thread> consumers;
  for (int c = 0; c < kConsumers; ++c) {
    consumers.emplace_back([&, c] {
      for (;;) {
        auto item = q.pop_for(100ms);
        if (item) received[c].push_back(*item);
        else if (q.closed_and_empty()) return;
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) ASSERT_TRUE(q.push(p * kPerProducer + i));
    });
  }
  for (auto& t : producers) t.join();
  q.close();
  for (auto& t : consumers) t.join();
  std::vector<int> all;
  for (auto& r : received) all.insert(all.end(), r.begin(), r.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kProducers * kPerProducer));
  for (int i = 0; i < kProducers * kPerProducer; ++i) ASSERT_EQ(all[static_cast<std::size_t>(i)], i);
}

}  // namespace
}  // namespace otlpd
