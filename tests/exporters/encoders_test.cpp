#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "json/json_writer.h"
#include "otlp/json_encoder.h"
#include "exporters/common/time_format.h"
#include "otlp/json_transcoder.h"
#include "exporters/console/pretty_json.h"
#include "support/sample_requests.h"
#include "exporters/debug/text_dump.h"

namespace otlpd {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string bytes_of_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

// The example of FACTS.md / the OTLP specification, plus one of every attribute type.
RequestPtr example_traces() {
  auto req = std::make_unique<otlp::TracesRequest>();
  auto* rs = req->add_resource_spans();
  auto* attr = rs->mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value("todo");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("x");
  auto* span = ss->add_spans();
  span->set_trace_id(bytes_of_hex("5b8efff798038103d269b633813fc60c"));
  span->set_span_id(bytes_of_hex("eee19b7ec3c1b174"));
  span->set_parent_span_id(bytes_of_hex("0102030405060708"));
  span->set_name("GET /");
  span->set_kind(opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER);
  span->set_start_time_unix_nano(1544712660000000000ULL);
  span->set_end_time_unix_nano(1544712661000000000ULL);
  auto add = [&](const char* key) {
    auto* kv = span->add_attributes();
    kv->set_key(key);
    return kv->mutable_value();
  };
  add("http.target")->set_string_value("/add?x=\"q\"\n");
  add("count")->set_int_value(-9007199254740993LL);
  add("ratio")->set_double_value(0.25);
  add("ok")->set_bool_value(true);
  add("raw")->set_bytes_value("\x01\x02\x03\xff");
  auto* arr = add("list")->mutable_array_value();
  arr->add_values()->set_int_value(1);
  arr->add_values()->set_string_value("two");
  auto* kvl = add("map")->mutable_kvlist_value()->add_values();
  kvl->set_key("inner");
  kvl->mutable_value()->set_bool_value(false);
  add("empty");
  span->mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
  span->mutable_status()->set_message("boom");
  auto* ev = span->add_events();
  ev->set_name("exception");
  ev->set_time_unix_nano(1544712660500000000ULL);
  auto* link = span->add_links();
  link->set_trace_id(bytes_of_hex("0af7651916cd43dd8448eb211c80319c"));
  link->set_span_id(bytes_of_hex("b7ad6b7169203331"));
  return Request::adopt(Signal::traces, std::move(req));
}

TEST(OtlpJson, FollowsTheOtlpJsonMapping) {
  std::string out;
  append_otlp_json_lines(out, Batch::of(example_traces()));
  ASSERT_EQ(out.back(), '\n');
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_THAT(out, HasSubstr(R"("traceId":"5b8efff798038103d269b633813fc60c")"));
  EXPECT_THAT(out, HasSubstr(R"("spanId":"eee19b7ec3c1b174")"));
  EXPECT_THAT(out, HasSubstr(R"("parentSpanId":"0102030405060708")"));
  EXPECT_THAT(out, HasSubstr(R"("kind":2)"));
  EXPECT_THAT(out, HasSubstr(R"("startTimeUnixNano":"1544712660000000000")"));
  EXPECT_THAT(out, HasSubstr(R"({"key":"count","value":{"intValue":"-9007199254740993"}})"));
  EXPECT_THAT(out, HasSubstr(R"({"key":"raw","value":{"bytesValue":"AQID/w=="}})"));
  EXPECT_THAT(out, HasSubstr(R"("stringValue":"/add?x=\"q\"\n")"));
  EXPECT_THAT(out, HasSubstr(R"("arrayValue":{"values":[{"intValue":"1"},{"stringValue":"two"}]})"));
  EXPECT_THAT(out, HasSubstr(R"({"key":"empty","value":{}})"));
  EXPECT_THAT(out, HasSubstr(R"("status":{"message":"boom","code":2})"));
  EXPECT_THAT(out, HasSubstr(R"("links":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331"}])"));
  EXPECT_THAT(out, HasSubstr(R"("resource":{"attributes":[{"key":"service.name","value":{"stringValue":"todo"}}]})"));
}

TEST(JsonWriterTest, NonFiniteDoublesAndControlCharacters) {
  std::string out;
  JsonWriter w(out);
  w.begin_array();
  w.number(std::numeric_limits<double>::quiet_NaN());
  w.number(-std::numeric_limits<double>::infinity());
  w.string(std::string("a\x01z", 3));
  w.number(-0.0);  // not "-0": that reads back as the integer 0 (found by otlpd_fuzz_json)
  w.number(0.0);
  w.end_array();
  EXPECT_EQ(out, R"(["NaN","-Infinity","a\u0001z",-0.0,0])");
}

// The escaping scans eight bytes at a time: every byte value at every offset of a word, next
// to every other kind of byte, is escaped as a byte-at-a-time reference escapes it.
TEST(JsonWriterTest, EscapesEveryByteAtEveryOffsetLikeAByteAtATimeReference) {
  const auto reference = [](std::string_view text) {
    std::string out;
    for (const char ch : text) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"') out += "\\\"";
      else if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else if (c == '\r') out += "\\r";
      else if (c == '\t') out += "\\t";
      else if (c == '\b') out += "\\b";
      else if (c == '\f') out += "\\f";
      else if (c < 0x20) out += fmt::format("\\u{:04x}", c);
      else out += ch;
    }
    return out;
  };
  std::size_t checked = 0;
  for (const unsigned char filler : {'a', '\x1f', '\x20', '"', '\x7f', '\x80', '\xff', '\\'}) {
    for (int value = 0; value < 256; ++value) {
      for (std::size_t length = 1; length <= 19; ++length) {
        for (std::size_t at = 0; at < length; ++at) {
          std::string text(length, static_cast<char>(filler));
          text[at] = static_cast<char>(value);
          std::string out = "prefix";
          JsonWriter::escape(out, text);
          ASSERT_EQ(out, "prefix" + reference(text)) << "byte " << value << " at " << at << " of " << length;
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 8u * 256u * 190u);
}

TEST(JsonWriterTest, IndentsLikePythonJsonDumps) {
  std::string out;
  JsonWriter w(out, 4);
  w.begin_object();
  w.key("a");
  w.begin_object();
  w.end_object();
  w.key("b");
  w.begin_array();
  w.number(std::int64_t{1});
  w.end_array();
  w.end_object();
  EXPECT_EQ(out, "{\n    \"a\": {},\n    \"b\": [\n        1\n    ]\n}");
}

TEST(PrettyJson, SpanInThePythonSdkConsoleShape) {
  std::string out;
  append_pretty_json(out, Batch::of(example_traces()));
  EXPECT_THAT(out, HasSubstr("\"name\": \"GET /\",\n    \"context\": {\n"
                             "        \"trace_id\": \"0x5b8efff798038103d269b633813fc60c\",\n"
                             "        \"span_id\": \"0xeee19b7ec3c1b174\",\n"
                             "        \"trace_state\": \"[]\"\n    },\n"
                             "    \"kind\": \"SpanKind.SERVER\",\n"
                             "    \"parent_id\": \"0x0102030405060708\",\n"
                             "    \"start_time\": \"2018-12-13T14:51:00.000000Z\",\n"
                             "    \"end_time\": \"2018-12-13T14:51:01.000000Z\",\n"
                             "    \"status\": {\n        \"status_code\": \"ERROR\",\n"
                             "        \"description\": \"boom\"\n    },\n"));
  EXPECT_THAT(out, HasSubstr("\"http.target\": \"/add?x=\\\"q\\\"\\n\""));
  EXPECT_THAT(out, HasSubstr("\"count\": -9007199254740993"));
  EXPECT_THAT(out, HasSubstr("\"map\": {\n            \"inner\": false\n        }"));
  EXPECT_THAT(out, HasSubstr("\"empty\": null"));
  EXPECT_THAT(out, HasSubstr("\"resource\": {\n        \"attributes\": {\n"
                             "            \"service.name\": \"todo\"\n        },\n"
                             "        \"schema_url\": \"\"\n    }\n}\n"));
}

TEST(DebugDump, DetailedMatchesTheCollectorsLayout) {
  Batch batch = Batch::of(example_traces());
  EXPECT_EQ(debug_summary(batch), R"({"resource spans": 1, "spans": 1})");
  EXPECT_EQ(debug_dump(batch, DebugVerbosity::basic), "");
  const std::string d = debug_dump(batch, DebugVerbosity::detailed);
  EXPECT_THAT(d, HasSubstr("ResourceSpans #0\nResource SchemaURL: \nResource attributes:\n"
                           "     -> service.name: Str(todo)\nScopeSpans #0\n"));
  EXPECT_THAT(d, HasSubstr("Span #0\n    Trace ID       : 5b8efff798038103d269b633813fc60c\n"
                           "    Parent ID      : 0102030405060708\n"
                           "    ID             : eee19b7ec3c1b174\n"
                           "    Name           : GET /\n    Kind           : Server\n"
                           "    Start time     : 2018-12-13 14:51:00 +0000 UTC\n"));
  EXPECT_THAT(d, HasSubstr("     -> count: Int(-9007199254740993)\n"));
  EXPECT_THAT(d, HasSubstr("     -> list: Slice([1,two])\n"));
  EXPECT_THAT(d, HasSubstr("    Status code    : Error\n    Status message : boom\n"));
  const std::string n = debug_dump(batch, DebugVerbosity::normal);
  EXPECT_THAT(n, HasSubstr("GET / 5b8efff798038103d269b633813fc60c eee19b7ec3c1b174 http.target="));
  EXPECT_THAT(n, Not(HasSubstr("Trace ID")));
}

TEST(TimeFormat, PythonAndGoStyles) {
  EXPECT_EQ(format_iso8601_micros(1730125233591136789ULL), "2024-10-28T14:20:33.591136Z");
  EXPECT_EQ(format_go_time(1730125233591136000ULL), "2024-10-28 14:20:33.591136 +0000 UTC");
  EXPECT_EQ(format_go_time(1730125233000000000ULL), "2024-10-28 14:20:33 +0000 UTC");
}

}  // namespace
}  // namespace otlpd

namespace otlpd {
namespace {

std::string reflection_json(const Request& r) {
  std::string out;
  append_otlp_json(out, r.message());
  return out;
}

TEST(OtlpJsonTranscoder, MatchesTheReflectionEncoderByteForByte) {
  std::mt19937 rng(7);
  for (Signal s : kAllSignals) {
    const std::string bytes = rich_request(s, rng);
    std::string error;
    auto decoded = Request::decode(s, bytes.data(), bytes.size(), &error);
    ASSERT_TRUE(decoded) << error;
    std::string transcoded;
    ASSERT_TRUE(transcode_otlp_json(transcoded, s, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    EXPECT_EQ(transcoded, reflection_json(*decoded)) << to_string(s);
  }
  const std::string example = example_traces()->message().SerializeAsString();
  std::string transcoded;
  ASSERT_TRUE(transcode_otlp_json(transcoded, Signal::traces, reinterpret_cast<const std::uint8_t*>(example.data()), example.size()));
  EXPECT_EQ(transcoded, reflection_json(*example_traces()));
}

// Whatever valid bytes arrive (including odd encodings a mutation produces: explicit
// defaults, unknown fields, unpacked repeated scalars), the transcoder either prints exactly
// what the decoded message prints, or declines so that the caller uses the decoded message.
TEST(OtlpJsonTranscoder, EqualsReflectionOrDeclinesOnMutatedInput) {
  std::mt19937 rng(99);
  int equal = 0, declined = 0;
  for (int round = 0; round < 20000; ++round) {
    const Signal s = static_cast<Signal>(round % 3);
    const std::string bytes = mutate(rich_request(s, rng), rng);
    std::string error;
    auto decoded = Request::decode(s, bytes.data(), bytes.size(), &error);
    if (!decoded) continue;
    std::string transcoded;
    if (!transcode_otlp_json(transcoded, s, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size())) {
      ++declined;
      continue;
    }
    ASSERT_EQ(transcoded, reflection_json(*decoded));
    ++equal;
  }
  EXPECT_GT(equal, 1000);
  EXPECT_LT(declined, equal);
}

}  // namespace
}  // namespace otlpd
