#include <gtest/gtest.h>

#include <random>

#include "fuzz/id_oracle.h"
#include "otlp/request.h"
#include "otlp/wire_scan.h"
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

// Whether every message's fields come in ascending order (the trace store stops reading a span
// past the fields it indexes only then): as protobuf writes them, yes; one message anywhere
// with a field before a lower one (a span's kind before its name), no.
TEST(WireScan, TellsWhetherEveryMessagesFieldsAreInOrder) {
  std::mt19937 rng(5);
  for (Signal s : kAllSignals) {
    const std::string bytes = rich_request(s, rng);
    const WireScan scan = scan_request(s, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ASSERT_EQ(scan.verdict, WireScan::Verdict::valid);
    EXPECT_TRUE(scan.fields_in_order) << to_string(s);
  }
  const auto len = [](std::uint32_t number, const std::string& payload) {
    EXPECT_LT(payload.size(), 128u);
    return std::string(1, static_cast<char>(number << 3 | 2)) + static_cast<char>(payload.size()) + payload;
  };
  const std::string name = len(5, "GET /"), kind = std::string("\x30\x02", 2);  // field 6, varint 2
  const std::string trace_id = len(1, std::string(16, '\x01')), span_id = len(2, std::string(8, '\x02'));
  const auto request = [&](const std::string& span) {
    return len(1, len(2, len(1, len(1, "scope")) + len(2, span)));
  };
  const std::string in_order = request(trace_id + span_id + name + kind);
  const std::string kind_first = request(trace_id + span_id + kind + name);
  const std::string scope_after_spans = len(1, len(2, len(2, trace_id + span_id + name) + len(1, len(1, "scope"))));
  const auto scan = [](const std::string& bytes) {
    return scan_request(Signal::traces, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  };
  EXPECT_EQ(scan(in_order).verdict, WireScan::Verdict::valid);
  EXPECT_TRUE(scan(in_order).fields_in_order);
  EXPECT_EQ(scan(kind_first).verdict, WireScan::Verdict::valid);
  EXPECT_FALSE(scan(kind_first).fields_in_order);
  EXPECT_EQ(scan(scope_after_spans).verdict, WireScan::Verdict::valid);
  EXPECT_FALSE(scan(scope_after_spans).fields_in_order);
  // The request says what its scan found.
  for (const std::string* bytes : {&in_order, &kind_first}) {
    auto owner = std::make_shared<std::string>(*bytes);
    std::string error;
    auto received = Request::receive(
        Signal::traces, WireBytes{reinterpret_cast<const std::uint8_t*>(owner->data()), owner->size(), owner}, &error);
    ASSERT_TRUE(received) << error;
    EXPECT_EQ(received->fields_in_order(), bytes == &in_order);
  }
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

// receive() refuses what the fast path calls invalid without asking protobuf, so the walk must
// never be stricter than protobuf (with the id check); and the slow path must reach the fast
// path's verdict, naming every refusal.
TEST(WireScan, FastAndSlowPathsAgreeAndAreNeverStricterThanProtobuf) {
  std::mt19937 rng(777);
  int refused = 0;
  for (int round = 0; round < 30000; ++round) {
    const Signal signal = static_cast<Signal>(round % 3);
    const std::string bytes = mutate(rich_request(signal, rng), rng);
    const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
    const WireScan fast = scan_request(signal, data, bytes.size());
    const WireScan slow = explain_request(signal, data, bytes.size());
    if (fast.verdict != WireScan::Verdict::unsure) {
      ASSERT_EQ(slow.verdict, fast.verdict);
    }
    if (slow.verdict == WireScan::Verdict::invalid) {
      ++refused;
      ASSERT_FALSE(slow.error.empty());
    }
    const std::unique_ptr<google::protobuf::Message> message = new_request_message(signal);
    // One exception, by design: an id field given twice, the first time with a wrong length.
    // protobuf keeps the last value; otlpd refuses any id of the wrong length.
    if (message->ParseFromString(bytes) && oracle::validate_ids(signal, *message).empty() &&
        slow.error.find(": must be ") == std::string::npos) {
      ASSERT_NE(fast.verdict, WireScan::Verdict::invalid) << slow.error << " signal " << to_string(signal);
    }
  }
  EXPECT_GT(refused, 1000);
}

// Found by FastAndSlowPathsAgree... once receive() stopped asking protobuf: the reader refused a
// 10-byte varint whose last byte holds bits beyond the 64th (protobuf drops them), and took a
// length padded to 6 bytes (protobuf reads at most 5).
TEST(WireScan, VarintsAndLengthsAreReadAsProtobufReadsThem) {
  auto verdict = [](const std::string& s) {
    return scan_request(Signal::traces, reinterpret_cast<const std::uint8_t*>(s.data()), s.size()).verdict;
  };
  const std::string ten_byte_varint("\x98\x06\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 12);  // field 99
  EXPECT_EQ(verdict(ten_byte_varint), WireScan::Verdict::valid);
  const std::string eleven_byte_varint("\x98\x06\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 13);
  EXPECT_EQ(verdict(eleven_byte_varint), WireScan::Verdict::invalid);
  const std::string length_of_5_bytes("\x0a\x80\x80\x80\x80\x00", 6);
  EXPECT_EQ(verdict(length_of_5_bytes), WireScan::Verdict::valid);
  const std::string length_of_6_bytes("\x0a\x80\x80\x80\x80\x80\x00", 7);
  EXPECT_EQ(verdict(length_of_6_bytes), WireScan::Verdict::invalid);
  // Found by scripts/fuzz.sh: a tag whose 5th byte holds bits beyond the 32nd; protobuf drops them.
  const std::string tag_above_32_bits("\xa8\xa8\xbb\xc3\x38\xa8\xa8\xc3\x05", 9);
  EXPECT_EQ(scan_request(Signal::metrics, reinterpret_cast<const std::uint8_t*>(tag_above_32_bits.data()),
                         tag_above_32_bits.size())
                .verdict,
            WireScan::Verdict::valid);
  otlp::MetricsRequest metrics;
  EXPECT_TRUE(metrics.ParseFromString(tag_above_32_bits));
  for (const std::string* s : {&ten_byte_varint, &eleven_byte_varint, &length_of_5_bytes, &length_of_6_bytes}) {
    otlp::TracesRequest parsed;
    EXPECT_EQ(parsed.ParseFromString(*s), verdict(*s) == WireScan::Verdict::valid);
  }
}

// The UTF-8 check takes ASCII eight bytes at a time and hands the rest of a string from the
// first word with a non-ASCII byte to simdjson: valid and invalid sequences at every offset
// across those words (and in the tail), each verdict the same as protobuf's when it parses.
TEST(WireScan, ChecksUtf8AtEveryOffsetAsProtobufDoes) {
  const std::vector<std::string> sequences = {
      "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",  // valid: 2, 3, 4 bytes, U+10FFFF
      "\xff", "\x80", "\xc3", "\xe2\x82", "\xc0\x80",                          // stray, lone continuation, truncated, overlong
      "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe0\x80\xaf"};                  // surrogate, above U+10FFFF, overlong
  int accepted = 0, refused = 0;
  for (const std::string& sequence : sequences) {
    for (std::size_t before = 0; before <= 19; ++before) {
      for (std::size_t after : {0, 1, 7, 8, 13}) {
        const std::string name = std::string(before, 'a') + sequence + std::string(after, 'b');
        otlp::TracesRequest request;
        request.add_resource_spans()->add_scope_spans()->add_spans()->set_name("x");
        std::string bytes = request.SerializeAsString();
        const std::size_t at = bytes.rfind('x');
        ASSERT_EQ(bytes.size() - at, 1u);
        // Rewrite the name's bytes and every enclosing length (each one byte: all short).
        bytes.replace(at, 1, name);
        const std::size_t grow = name.size() - 1;
        for (std::size_t length_at : {1u, 3u, 5u, 7u}) bytes[length_at] = static_cast<char>(bytes[length_at] + grow);
        const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
        std::string error;
        const bool protobuf_accepts = Request::decode(Signal::traces, bytes.data(), bytes.size(), &error) != nullptr;
        const WireScan scan = scan_request(Signal::traces, data, bytes.size());
        const WireScan slow = explain_request(Signal::traces, data, bytes.size());
        const std::string where = "sequence of " + std::to_string(sequence.size()) + " bytes after " +
                                  std::to_string(before) + ", " + std::to_string(after) + " after it";
        EXPECT_EQ(scan.verdict == WireScan::Verdict::valid, protobuf_accepts) << where << ": " << error;
        EXPECT_EQ(slow.verdict == WireScan::Verdict::valid, protobuf_accepts) << where;
        (protobuf_accepts ? accepted : refused) += 1;
      }
    }
  }
  EXPECT_EQ(accepted, 4 * 20 * 5);  // the four valid sequences, and nothing else
  EXPECT_EQ(refused, 8 * 20 * 5);
}

TEST(WireScan, TheSlowPathNamesTheFieldWhatAndWhere) {
  std::string trace_id_of_3(1, '\x0a');  // resource_spans { scope_spans { spans { trace_id: 3 bytes } } }
  trace_id_of_3 = std::string("\x0a\x09\x12\x07\x12\x05\x0a\x03\x01\x02\x03", 11);
  auto data = [](const std::string& s) { return reinterpret_cast<const std::uint8_t*>(s.data()); };
  WireScan slow = explain_request(Signal::traces, data(trace_id_of_3), trace_id_of_3.size());
  EXPECT_EQ(slow.error, "field resource_spans[0].scope_spans[0].spans[0].trace_id: must be 16 bytes or empty, got 3");
  // The second span's name is not UTF-8: at byte offset 17, where the string starts.
  const std::string bad_name("\x0a\x0d\x12\x0b\x12\x02\x2a\x00\x12\x05\x2a\x03\x61\xff\x62", 15);
  slow = explain_request(Signal::traces, data(bad_name), bad_name.size());
  EXPECT_EQ(slow.error, "malformed ExportTraceServiceRequest: field resource_spans[0].scope_spans[0].spans[1].name: "
                        "string is not valid UTF-8 at byte offset 12");
  const std::string unknown_truncated("\x0a\x03\x3a\x05\x01", 5);  // field 7 of ResourceSpans: too long
  slow = explain_request(Signal::traces, data(unknown_truncated), unknown_truncated.size());
  EXPECT_EQ(slow.error, "malformed ExportTraceServiceRequest: field resource_spans[0].#7: length 5 exceeds the 1 bytes "
                        "left (truncated request?) at byte offset 3");
  // A group is stepped over by the slow path; the fast one leaves it to protobuf.
  const std::string group("\x0b\x08\x01\x0c", 4);  // field 1 as a group holding a varint
  EXPECT_EQ(scan_request(Signal::traces, data(group), group.size()).verdict, WireScan::Verdict::unsure);
  EXPECT_EQ(explain_request(Signal::traces, data(group), group.size()).verdict, WireScan::Verdict::valid);
}

TEST(WireScan, InvalidInputIsExplainedByTheSlowPath) {
  std::string error;
  auto owner = std::make_shared<std::string>("\x0a\x05\x0a\x03", 4);
  auto request = Request::receive(
      Signal::traces, WireBytes{reinterpret_cast<const std::uint8_t*>(owner->data()), owner->size(), owner}, &error);
  EXPECT_FALSE(request);
  EXPECT_NE(error.find("exceeds the"), std::string::npos) << error;
}

}  // namespace
}  // namespace otlpd
