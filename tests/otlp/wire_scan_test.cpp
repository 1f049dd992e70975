#include <gtest/gtest.h>

#include <random>

#include "otlp/wire_scan.h"
#include "otlp/request.h"
#include "support/sample_requests.h"

namespace otlpd {
namespace {

TEST(WireScan, CountsItemsOfValidRequests) {
  std::mt19937 rng(1);
  for (Signal s : kAllSignals) {
    const std::string bytes = rich_request(s, rng);
    WireScan scan = scan_request(s, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ASSERT_EQ(scan.verdict, WireScan::Verdict::valid) << to_string(s);
    std::string error;
    auto decoded = Request::decode(s, bytes.data(), bytes.size(), &error);
    ASSERT_TRUE(decoded) << error;
    EXPECT_EQ(scan.items, decoded->item_count()) << to_string(s);
  }
}

// The scanner must never call valid what protobuf (plus the id check) rejects, or a request
// accepted by the receiver could fail to decode later. Checked on many mutated requests.
TEST(WireScan, IsNeverLaxerThanProtobufOnMutatedInput) {
  std::mt19937 rng(12345);
  int valid = 0, invalid = 0;
  for (int round = 0; round < 30000; ++round) {
    const Signal signal = static_cast<Signal>(round % 3);
    const std::string bytes = mutate(rich_request(signal, rng), rng);
    const WireScan scan = scan_request(signal, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    std::string error;
    auto decoded = Request::decode(signal, bytes.data(), bytes.size(), &error);
    if (scan.verdict == WireScan::Verdict::valid) {
      ++valid;
      ASSERT_TRUE(decoded) << "scanner accepted what protobuf rejects: " << error;
      ASSERT_EQ(scan.items, decoded->item_count());
    } else {
      ++invalid;
    }
  }
  EXPECT_GT(valid, 1000);
  EXPECT_GT(invalid, 1000);
}

TEST(WireScan, LazyRequestDecodesOnFirstUseOnly) {
  std::mt19937 rng(3);
  const std::string bytes = rich_request(Signal::traces, rng);
  auto owner = std::make_shared<std::string>(bytes);
  std::string error;
  auto request = Request::receive(
      Signal::traces, WireBytes{reinterpret_cast<const std::uint8_t*>(owner->data()), owner->size(), owner}, &error);
  ASSERT_TRUE(request) << error;
  EXPECT_EQ(request->item_count(), 3u);
  EXPECT_EQ(request->wire(), bytes);
  EXPECT_EQ(request->traces().resource_spans(0).scope_spans(0).spans(1).name(), "span é");
  EXPECT_EQ(&request->traces(), &request->traces());
}

TEST(WireScan, InvalidInputIsExplainedByAFullDecode) {
  std::string error;
  auto owner = std::make_shared<std::string>("\x0a\x05\x0a\x03", 4);
  auto request = Request::receive(
      Signal::traces, WireBytes{reinterpret_cast<const std::uint8_t*>(owner->data()), owner->size(), owner}, &error);
  EXPECT_FALSE(request);
  EXPECT_NE(error.find("exceeds the"), std::string::npos) << error;
}

}  // namespace
}  // namespace otlpd
