#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "pipeline/fanout.h"
#include "otlp/request.h"

namespace otlpd {
namespace {

using ::testing::HasSubstr;

otlp::TracesRequest sample_traces(int spans) {
  otlp::TracesRequest req;
  auto* ss = req.add_resource_spans()->add_scope_spans();
  for (int i = 0; i < spans; ++i) {
    auto* span = ss->add_spans();
    span->set_trace_id(std::string(16, 'a'));
    span->set_span_id(std::string(8, static_cast<char>('0' + i)));
    span->set_name("span");
  }
  return req;
}

RequestPtr decode(Signal signal, const std::string& bytes, std::string* error) {
  return Request::decode(signal, bytes.data(), bytes.size(), error);
}

TEST(Decode, CountsItemsOfEachSignal) {
  std::string error;
  auto traces = decode(Signal::traces, sample_traces(3).SerializeAsString(), &error);
  ASSERT_TRUE(traces) << error;
  EXPECT_EQ(traces->item_count(), 3u);

  otlp::MetricsRequest metrics;
  auto* sm = metrics.add_resource_metrics()->add_scope_metrics();
  sm->add_metrics()->mutable_sum()->add_data_points();
  auto* h = sm->add_metrics()->mutable_histogram();
  h->add_data_points();
  h->add_data_points();
  auto m = decode(Signal::metrics, metrics.SerializeAsString(), &error);
  ASSERT_TRUE(m) << error;
  EXPECT_EQ(m->item_count(), 3u);

  otlp::LogsRequest logs;
  logs.add_resource_logs()->add_scope_logs()->add_log_records();
  auto l = decode(Signal::logs, logs.SerializeAsString(), &error);
  ASSERT_TRUE(l) << error;
  EXPECT_EQ(l->item_count(), 1u);
}

TEST(Decode, EmptyRequestIsValid) {
  std::string error;
  auto r = decode(Signal::traces, "", &error);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->item_count(), 0u);
}

TEST(Decode, TruncatedRequestNamesFieldAndOffset) {
  std::string bytes = sample_traces(2).SerializeAsString();
  bytes.resize(bytes.size() - 5);
  std::string error;
  EXPECT_FALSE(decode(Signal::traces, bytes, &error));
  EXPECT_THAT(error, HasSubstr("malformed ExportTraceServiceRequest"));
  EXPECT_THAT(error, HasSubstr("field resource_spans[0]"));
  EXPECT_THAT(error, HasSubstr("exceeds the"));
}

TEST(Decode, InvalidWireTypeIsReported) {
  std::string error;
  EXPECT_FALSE(decode(Signal::logs, std::string("\x0f\x01", 2), &error));
  EXPECT_THAT(error, HasSubstr("invalid wire type 7"));
}

TEST(Decode, InvalidUtf8InStringIsReported) {
  otlp::TracesRequest req = sample_traces(1);
  std::string bytes = req.SerializeAsString();
  // Replace the span name "span" by invalid UTF-8 bytes of the same length.
  const auto at = bytes.find("span");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 4, "\xff\xfe\xfd\xfc");
  std::string error;
  EXPECT_FALSE(decode(Signal::traces, bytes, &error));
  EXPECT_THAT(error, HasSubstr("spans[0].name: string is not valid UTF-8"));
}

TEST(Decode, WrongIdLengthIsRejectedWithItsPath) {
  otlp::TracesRequest req = sample_traces(2);
  req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(1)->set_trace_id("short");
  std::string error;
  EXPECT_FALSE(decode(Signal::traces, req.SerializeAsString(), &error));
  EXPECT_EQ(error,
            "field resource_spans[0].scope_spans[0].spans[1].trace_id: must be 16 bytes or "
            "empty, got 5");
}

TEST(Decode, RandomBytesNeverCrashAndUsuallyFail) {
  std::mt19937 rng(42);
  int failures = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(static_cast<std::size_t>(rng() % 200), '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    std::string error;
    auto r = decode(static_cast<Signal>(i % 3), bytes, &error);
    if (!r) {
      ++failures;
      EXPECT_FALSE(error.empty());
    }
  }
  EXPECT_GT(failures, 1000);
}

class RecordingConsumer final : public Consumer {
 public:
  explicit RecordingConsumer(ConsumeResult reply = ConsumeResult::ok()) : reply_(std::move(reply)) {}
  ConsumeResult consume(Batch&& batch) noexcept override {
    batches.push_back(std::move(batch));
    return reply_;
  }
  std::vector<Batch> batches;

 private:
  ConsumeResult reply_;
};

TEST(Fanout, SharesTheSameDecodedRequestWithEveryConsumer) {
  RecordingConsumer a, b, c;
  FanoutConsumer fanout({&a, &b, &c});
  std::string error;
  auto request = decode(Signal::traces, sample_traces(2).SerializeAsString(), &error);
  const Request* raw = request.get();
  EXPECT_TRUE(fanout.consume(Batch::of(std::move(request))).is_ok());
  for (auto* consumer : {&a, &b, &c}) {
    ASSERT_EQ(consumer->batches.size(), 1u);
    EXPECT_EQ(consumer->batches[0].requests[0].get(), raw);  // same object: no copy
    EXPECT_EQ(consumer->batches[0].item_count(), 2u);
  }
}

TEST(Fanout, RetryableRefusalWinsSoTheClientRetries) {
  RecordingConsumer ok;
  RecordingConsumer permanent(ConsumeResult::permanent("bad"));
  RecordingConsumer full(ConsumeResult::retryable("full"));
  FanoutConsumer fanout({&ok, &permanent, &full});
  std::string error;
  auto result = fanout.consume(Batch::of(decode(Signal::traces, "", &error)));
  EXPECT_EQ(result.code, ConsumeResult::Code::retryable);
  EXPECT_EQ(result.message, "full");
  EXPECT_EQ(ok.batches.size(), 1u);
}

}  // namespace
}  // namespace otlpd
