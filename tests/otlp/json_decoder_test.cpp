#include "otlp/json_decoder.h"

#include <fmt/format.h>
#include <google/protobuf/stubs/strutil.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <regex>

#include "otlp/json_transcoder.h"
#include "support/sample_requests.h"

namespace otlpd {
namespace {

namespace pb = google::protobuf;

std::unique_ptr<pb::Message> parse(Signal signal, const std::string& bytes) {
  std::unique_ptr<pb::Message> m;
  switch (signal) {
    case Signal::traces: m = std::make_unique<otlp::TracesRequest>(); break;
    case Signal::metrics: m = std::make_unique<otlp::MetricsRequest>(); break;
    case Signal::logs: m = std::make_unique<otlp::LogsRequest>(); break;
  }
  EXPECT_TRUE(m->ParseFromString(bytes));
  return m;
}

std::string decode_to_wire(Signal signal, const std::string& json) {
  std::string error;
  RequestPtr request = decode_otlp_json(signal, json, &error);
  EXPECT_TRUE(request) << error << "\n" << json.substr(0, 2000);
  return request ? request->message().SerializeAsString() : "";
}

std::string decode_error(Signal signal, const std::string& json) {
  std::string error;
  EXPECT_FALSE(decode_otlp_json(signal, json, &error)) << json;
  return error;
}

class JsonDecoderRoundTrip : public ::testing::TestWithParam<Signal> {};

// Every kind of OTLP field, written by the wire-to-JSON transcoder (OTLP/JSON as exporters and
// SDKs write it: camelCase, hex ids, int64 as strings, enums as numbers) and read back.
TEST_P(JsonDecoderRoundTrip, TranscodedJsonDecodesToTheSameRequest) {
  const Signal signal = GetParam();
  std::mt19937 rng(7);
  for (int i = 0; i < 50; ++i) {
    const std::string bytes = rich_request(signal, rng);
    std::string json;
    ASSERT_TRUE(transcode_otlp_json(json, signal, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    auto expected = parse(signal, bytes);
    auto actual = parse(signal, decode_to_wire(signal, json));
    std::string diff;
    pb::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differ.Compare(*expected, *actual)) << diff;
  }
}

// The other spelling protobuf's JSON mapping allows: snake_case keys, enums by name, 64-bit
// integers as numbers, base64 bytes. protobuf's own JSON printer writes it (with ids turned to
// hex, as OTLP/JSON requires), and our decoder must read the same request back.
TEST_P(JsonDecoderRoundTrip, ProtobufsJsonSpellingDecodesToTheSameRequest) {
  const Signal signal = GetParam();
  std::mt19937 rng(11);
  const std::regex id(R"re("(trace_id|span_id|parent_span_id)":"([^"]*)")re");
  for (int i = 0; i < 20; ++i) {
    auto expected = parse(signal, rich_request(signal, rng));
    pb::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    std::string json;
    ASSERT_TRUE(pb::util::MessageToJsonString(*expected, &json, options).ok());
    std::string hexed;
    auto last = json.cbegin();
    for (std::sregex_iterator it(json.begin(), json.end(), id), end; it != end; ++it) {
      hexed.append(last, (*it)[0].first);
      std::string raw;
      ASSERT_TRUE(pb::Base64Unescape((*it)[2].str(), &raw));
      std::string hex;
      for (unsigned char c : raw) hex += fmt::format("{:02x}", c);
      hexed += fmt::format(R"("{}":"{}")", (*it)[1].str(), hex);
      last = (*it)[0].second;
    }
    hexed.append(last, json.cend());
    auto actual = parse(signal, decode_to_wire(signal, hexed));
    std::string diff;
    pb::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differ.Compare(*expected, *actual)) << diff;
  }
}

INSTANTIATE_TEST_SUITE_P(AllSignals, JsonDecoderRoundTrip,
                         ::testing::Values(Signal::traces, Signal::metrics, Signal::logs),
                         [](const auto& p) { return std::string(to_string(p.param)); });

TEST(JsonDecoder, ReadsEveryFormTheMappingAllows) {
  const std::string json = R"({
    "resource_spans": [{"scopeSpans": [{"spans": [{
      "traceId": "0AF7651916CD43DD8448EB211C80319C", "span_id": "b7ad6b7169203331", "parentSpanId": "",
      "name": "x", "kind": "SPAN_KIND_CLIENT", "startTimeUnixNano": 1544712660000000000,
      "end_time_unix_nano": "1544712661000000000", "droppedAttributesCount": 0, "flags": 1e2,
      "attributes": [
        {"key": "i", "value": {"intValue": "-7"}}, {"key": "d", "value": {"doubleValue": "NaN"}},
        {"key": "z", "value": {"intValue": 0}}, {"key": "b", "value": {"bytesValue": "aGk="}},
        {"key": "u", "value": {"bytesValue": "_-8"}}, {"key": "n", "value": null},
        {"key": "a", "value": {"arrayValue": {"values": [{"boolValue": true}, {"stringValue": ""}]}}}],
      "status": {"code": 2, "message": "boom"}, "future": {"x": [1, {"y": 2}]}}]}]}],
    "unknown": true})";
  otlp::TracesRequest request;
  ASSERT_TRUE(request.ParseFromString(decode_to_wire(Signal::traces, json)));
  const auto& span = request.resource_spans(0).scope_spans(0).spans(0);
  EXPECT_EQ(span.trace_id(), std::string("\x0a\xf7\x65\x19\x16\xcd\x43\xdd\x84\x48\xeb\x21\x1c\x80\x31\x9c", 16));
  EXPECT_EQ(span.span_id(), std::string("\xb7\xad\x6b\x71\x69\x20\x33\x31", 8));
  EXPECT_TRUE(span.parent_span_id().empty());
  EXPECT_EQ(span.kind(), opentelemetry::proto::trace::v1::Span::SPAN_KIND_CLIENT);
  EXPECT_EQ(span.start_time_unix_nano(), 1544712660000000000u);
  EXPECT_EQ(span.end_time_unix_nano(), 1544712661000000000u);
  EXPECT_EQ(span.flags(), 100u);
  ASSERT_EQ(span.attributes_size(), 7);
  EXPECT_EQ(span.attributes(0).value().int_value(), -7);
  EXPECT_TRUE(std::isnan(span.attributes(1).value().double_value()));
  EXPECT_TRUE(span.attributes(2).value().has_int_value());  // a oneof member keeps its zero
  EXPECT_EQ(span.attributes(3).value().bytes_value(), "hi");
  EXPECT_EQ(span.attributes(4).value().bytes_value(), "\xff\xef");
  EXPECT_FALSE(span.attributes(5).has_value());
  EXPECT_TRUE(span.attributes(6).value().array_value().values(0).bool_value());
  EXPECT_TRUE(span.attributes(6).value().array_value().values(1).has_string_value());
  EXPECT_EQ(span.status().code(), opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
}

TEST(JsonDecoder, HistogramOptionalFieldsKeepTheirZeroes) {
  const std::string json = R"({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "h",
    "histogram": {"aggregationTemporality": "AGGREGATION_TEMPORALITY_DELTA", "dataPoints": [
      {"count": "3", "sum": 0, "min": 0, "max": -0.5, "bucketCounts": ["1", 2, "0"], "explicitBounds": [0, 1.5]}]}}]}]}]})";
  otlp::MetricsRequest request;
  ASSERT_TRUE(request.ParseFromString(decode_to_wire(Signal::metrics, json)));
  const auto& h = request.resource_metrics(0).scope_metrics(0).metrics(0).histogram();
  EXPECT_EQ(h.aggregation_temporality(), opentelemetry::proto::metrics::v1::AGGREGATION_TEMPORALITY_DELTA);
  const auto& p = h.data_points(0);
  EXPECT_TRUE(p.has_sum() && p.has_min() && p.has_max());
  EXPECT_EQ(p.max(), -0.5);
  EXPECT_EQ(std::vector<std::uint64_t>(p.bucket_counts().begin(), p.bucket_counts().end()),
            (std::vector<std::uint64_t>{1, 2, 0}));
  EXPECT_EQ(std::vector<double>(p.explicit_bounds().begin(), p.explicit_bounds().end()), (std::vector<double>{0, 1.5}));
}

TEST(JsonDecoder, LongStringsAndManyItemsKeepCorrectLengths) {
  // Lengths of one, two and three varint bytes for nested messages.
  std::string json = R"({"resourceLogs": [{"scopeLogs": [{"logRecords": [)";
  for (int i = 0; i < 300; ++i) {
    json += fmt::format(R"({}{{"body": {{"stringValue": "{}"}}}})", i ? "," : "", std::string(i * 70, 'x'));
  }
  json += "]}]}]}";
  otlp::LogsRequest request;
  ASSERT_TRUE(request.ParseFromString(decode_to_wire(Signal::logs, json)));
  const auto& records = request.resource_logs(0).scope_logs(0).log_records();
  ASSERT_EQ(records.size(), 300);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(records[i].body().string_value().size(), static_cast<std::size_t>(i * 70));
}

TEST(JsonDecoder, ErrorsNameTheFieldAsWritten) {
  EXPECT_EQ(decode_error(Signal::traces, R"({"resourceSpans": [{"scopeSpans": [{"spans": [{}, {"traceId": "xyz1"}]}]}]})"),
            "field resourceSpans[0].scopeSpans[0].spans[1].traceId: 'xyz1' is not a hex id");
  EXPECT_EQ(decode_error(Signal::traces, R"({"resource_spans": [{"scope_spans": [{"spans": [{"span_id": "0102"}]}]}]})"),
            "field resource_spans[0].scope_spans[0].spans[0].span_id: must be 8 bytes or empty, got 2");
  EXPECT_EQ(decode_error(Signal::traces, R"({"resourceSpans": [{"scopeSpans": [{"spans": [{"kind": "SIDEWAYS"}]}]}]})"),
            "field resourceSpans[0].scopeSpans[0].spans[0].kind: 'SIDEWAYS' is not a SpanKind value");
  EXPECT_EQ(decode_error(Signal::traces, R"({"resourceSpans": {}})"), "field resourceSpans: expected an array, got an object");
  EXPECT_EQ(decode_error(Signal::traces, R"({"resourceSpans": [{"resource": {"droppedAttributesCount": -1}}]})"),
            "field resourceSpans[0].resource.droppedAttributesCount: expected a 32-bit unsigned integer, got -1");
  EXPECT_EQ(decode_error(Signal::traces, R"({"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]})"),
            "field resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: expected a 64-bit unsigned integer, got 'soon'");
  EXPECT_EQ(decode_error(Signal::logs, R"({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"intValue": 1.5}}]}]}]})"),
            "field resourceLogs[0].scopeLogs[0].logRecords[0].body.intValue: expected a 64-bit integer, got 1.5");
  EXPECT_EQ(decode_error(Signal::logs, R"({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"bytesValue": "!!"}}]}]}]})"),
            "field resourceLogs[0].scopeLogs[0].logRecords[0].body.bytesValue: not valid base64");
  EXPECT_EQ(decode_error(Signal::logs, R"({"resourceLogs": [null]})"),
            "field resourceLogs[0]: null is not allowed in a repeated field");
  EXPECT_EQ(decode_error(Signal::metrics, R"({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"gauge": {"dataPoints": [{"asDouble": true}]}}]}]}]})"),
            "field resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].asDouble: expected a number, got a boolean");
  EXPECT_TRUE(decode_error(Signal::traces, R"({"resourceSpans": [)").starts_with("invalid JSON"));
  EXPECT_EQ(decode_error(Signal::traces, "[]"), "invalid OTLP/JSON: the body must be a JSON object");
}

TEST(JsonDecoder, AnEmptyObjectIsAnEmptyRequest) {
  std::string error;
  RequestPtr request = decode_otlp_json(Signal::metrics, "{}", &error);
  ASSERT_TRUE(request) << error;
  EXPECT_EQ(request->item_count(), 0u);
}

}  // namespace
}  // namespace otlpd
