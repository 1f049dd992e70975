#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "tracestore/trace_store.h"
#include "translator/jaeger/jaeger_mapping.h"

namespace otlpd {
namespace {

// Protobuf by hand, so that a span's fields can come in any order.
std::string varint(std::uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
  return out;
}
std::string len_field(std::uint32_t number, const std::string& payload) {
  return varint(number << 3 | 2) + varint(payload.size()) + payload;
}
std::string varint_field(std::uint32_t number, std::uint64_t value) { return varint(number << 3) + varint(value); }
std::string fixed64_field(std::uint32_t number, std::uint64_t value) {
  std::string out = varint(number << 3 | 1);
  for (int i = 0; i < 8; ++i) out += static_cast<char>(value >> (8 * i));
  return out;
}
std::string id(std::size_t size, char last) {
  std::string out(size, '\0');
  out.back() = last;
  return out;
}
std::string attribute(const std::string& key, const std::string& value) {
  return len_field(9, len_field(1, key) + len_field(2, len_field(1, value)));
}

// The fields of a span, by name, to be written in a chosen order.
struct SpanFields {
  std::string trace_id = len_field(1, id(16, 1)), span_id = len_field(2, id(8, 2));
  std::string parent = len_field(4, id(8, 7)), name = len_field(5, "GET /items");
  std::string kind = varint_field(6, 2), start = fixed64_field(7, 1'000'000'000);
  std::string end = fixed64_field(8, 1'250'000'000), flags = fixed64_field(16, 0x100);
  std::string attributes = attribute("http.method", "GET") + attribute("http.target", "/items");
  std::string status = len_field(15, varint_field(3, 1));
};

// Stores one span whose bytes are `span` and returns what the store indexed of it.
StoredSpan store_one(TraceStore& store, const std::string& span) {
  const std::string resource = len_field(1, len_field(1, "service.name") + len_field(2, len_field(1, "todo")));
  auto bytes = std::make_shared<std::string>(len_field(1, len_field(1, resource) + len_field(2, len_field(2, span))));
  std::string error;
  RequestPtr request = Request::receive(
      Signal::traces, WireBytes{reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size(), bytes}, &error);
  EXPECT_TRUE(request) << error;
  store.add(request);
  StoredSpan found;
  EXPECT_TRUE(store.get(TraceKey{0, 1}, [&](const StoredTrace& trace) {
    ASSERT_EQ(trace.span_count, 1u);
    found = *trace.first;
  }));
  return found;
}

void expect_indexed(const StoredSpan& s, std::int64_t parent) {
  EXPECT_EQ(s.ids().span_id, 2);
  EXPECT_EQ(s.ids().parent_id, parent);
  EXPECT_EQ(s.name(), "GET /items");
  EXPECT_EQ(s.kind, 2);
  EXPECT_EQ(s.start_us, 1'000'000);
  EXPECT_EQ(s.duration_us, 250'000);
}

// Field-number order and trace.proto's declaration order (flags, 16, after the parent).
TEST(TraceStoreIndex, IndexesSpansInNumberOrDeclarationOrder) {
  const SpanFields f;
  TraceStore by_number(10, 1 << 20), by_declaration(10, 1 << 20);
  expect_indexed(store_one(by_number, f.trace_id + f.span_id + f.parent + f.name + f.kind + f.start + f.end +
                                          f.attributes + f.status + f.flags),
                 7);
  expect_indexed(store_one(by_declaration, f.trace_id + f.span_id + f.parent + f.flags + f.name + f.kind + f.start +
                                               f.end + f.attributes + f.status),
                 7);
}

// A root has no parent_span_id and kind 0 is not written.
TEST(TraceStoreIndex, ARootWithoutKindIsIndexedAsARoot) {
  const SpanFields f;
  TraceStore store(10, 1 << 20);
  const StoredSpan s = store_one(store, f.trace_id + f.span_id + f.name + f.start + f.end + f.attributes + f.status);
  EXPECT_EQ(s.ids().parent_id, 0);
  EXPECT_EQ(s.kind, 0);
  EXPECT_EQ(s.name(), "GET /items");
  EXPECT_EQ(s.duration_us, 250'000);
}

// Fields out of order (OTLP/JSON keeps the client's order, and protobuf allows any): a
// parent or a kind written after the attributes is still found. (The store stops reading a span
// at its first field above 8 only when the receiver's scan found every field of the request in
// order: stopping when the span's fields so far were ascending was tried, and lost these.)
TEST(TraceStoreIndex, FieldsOutOfOrderAreFoundAfterTheAttributes) {
  const SpanFields f;
  TraceStore store(10, 1 << 20);
  expect_indexed(store_one(store, f.span_id + f.trace_id + f.name + f.start + f.end + f.attributes + f.parent +
                                      f.status + f.kind),
                 7);
}

// A field given twice: the last value counts, as protobuf decodes it.
TEST(TraceStoreIndex, AFieldGivenTwiceKeepsTheLastValue) {
  const SpanFields f;
  TraceStore store(10, 1 << 20);
  const StoredSpan s = store_one(store, f.trace_id + f.span_id + f.parent + len_field(5, "first") + f.name + f.kind +
                                            f.start + f.end + f.attributes + len_field(5, "GET /items"));
  EXPECT_EQ(s.name(), "GET /items");
  TraceStore other(10, 1 << 20);
  const StoredSpan renamed = store_one(other, f.trace_id + f.span_id + f.parent + f.name + len_field(5, "second") +
                                                  f.kind + f.start + f.end + f.attributes);
  EXPECT_EQ(renamed.name(), "second");
}

// A span of trace `trace` (its id's last byte) named `name`, starting at `start_s` seconds.
std::string small_span(char trace, const std::string& name, std::uint64_t start_s) {
  return len_field(1, id(16, trace)) + len_field(2, id(8, 9)) + len_field(5, name) +
         fixed64_field(7, start_s * 1'000'000'000) + fixed64_field(8, start_s * 1'000'000'000 + 1'000'000);
}
RequestPtr traces_request(const std::string& resource_spans_body) {
  auto bytes = std::make_shared<std::string>(len_field(1, resource_spans_body));
  std::string error;
  RequestPtr request = Request::receive(
      Signal::traces, WireBytes{reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size(), bytes}, &error);
  EXPECT_TRUE(request) << error;
  return request;
}
std::vector<std::string> names_of(const TraceStore& store, char trace, std::vector<std::string>* scopes = nullptr) {
  std::vector<std::string> names;
  store.get(TraceKey{0, trace}, [&](const StoredTrace& t) {
    for (const StoredSpan* s : t.spans()) {
      names.emplace_back(s->name());
      if (scopes) scopes->emplace_back(s->scope());
    }
  });
  return names;
}

// Spans of several traces interleaved, in two ScopeSpans and two requests: each trace holds
// its spans in arrival order with their own scope, and its time range spans them all.
TEST(TraceStoreIndex, InterleavedTracesKeepTheirSpansInOrderWithTheirScopes) {
  TraceStore store(100, 1 << 20);
  const std::string scope_a = len_field(1, "lib-a"), scope_b = len_field(1, "lib-b");
  store.add(traces_request(
      len_field(2, len_field(1, scope_a) + len_field(2, small_span(1, "a1", 10)) + len_field(2, small_span(1, "a2", 11)) +
                       len_field(2, small_span(2, "b1", 5)) + len_field(2, small_span(1, "a3", 12))) +
      len_field(2, len_field(1, scope_b) + len_field(2, small_span(3, "c1", 20)) + len_field(2, small_span(2, "b2", 30)))));
  store.add(traces_request(len_field(2, len_field(1, scope_a) + len_field(2, small_span(2, "b3", 1)) +
                                            len_field(2, small_span(1, "a4", 13)))));
  std::vector<std::string> scopes;
  EXPECT_EQ(names_of(store, 1, &scopes), (std::vector<std::string>{"a1", "a2", "a3", "a4"}));
  EXPECT_EQ(scopes, std::vector<std::string>(4, scope_a));
  scopes.clear();
  EXPECT_EQ(names_of(store, 2, &scopes), (std::vector<std::string>{"b1", "b2", "b3"}));
  EXPECT_EQ(scopes, (std::vector<std::string>{scope_a, scope_b, scope_a}));
  EXPECT_EQ(names_of(store, 3), (std::vector<std::string>{"c1"}));
  store.get(TraceKey{0, 2}, [](const StoredTrace& t) {
    EXPECT_EQ(t.start_us, 1'000'000);
    EXPECT_EQ(t.end_us, 30'001'000);
  });
  const TraceStore::Stats stats = store.stats();
  EXPECT_EQ(stats.traces, 3u);
  EXPECT_EQ(stats.spans, 8u);
}

// A scope written after its spans (protobuf allows any order) still belongs to every span of
// its ScopeSpans, in every trace they belong to.
TEST(TraceStoreIndex, AScopeAfterItsSpansBelongsToAllOfThem) {
  TraceStore store(100, 64 << 20);
  std::string spans;
  for (int i = 0; i < 2500; ++i) spans += len_field(2, small_span(static_cast<char>(1 + i / 1000), "s", 1));
  const std::string scope = len_field(1, "late");
  store.add(traces_request(len_field(2, spans + len_field(1, scope))));
  for (char trace : {1, 2, 3}) {
    std::vector<std::string> scopes;
    EXPECT_EQ(names_of(store, trace, &scopes).size(), trace == 3 ? 500u : 1000u);
    EXPECT_EQ(scopes, std::vector<std::string>(trace == 3 ? 500 : 1000, scope));
  }
  EXPECT_EQ(store.stats().spans, 2500u);
}

// Whatever was stored, evicting it all gives every byte back.
TEST(TraceStoreIndex, EvictionReturnsTheCountedBytes) {
  TraceStore store(2, 1 << 20);
  for (char round = 1; round <= 40; ++round) {
    std::string body;
    for (int i = 0; i < 3 + round % 5; ++i) body += len_field(2, small_span(static_cast<char>(round % 4 + 1), "s", 1));
    store.add(traces_request(len_field(2, body)));
  }
  TraceStore::Stats stats = store.stats();
  EXPECT_EQ(stats.traces, 2u);
  EXPECT_GT(stats.evicted_traces, 30u);
  // One more request with a single span of a new trace evicts all but two traces.
  TraceStore lone(1, 1 << 20);
  lone.add(traces_request(len_field(2, len_field(2, small_span(1, "x", 1)))));
  const std::size_t one_trace = lone.stats().bytes;
  lone.add(traces_request(len_field(2, len_field(2, small_span(2, "y", 1)))));
  EXPECT_EQ(lone.stats().bytes, one_trace);
  EXPECT_EQ(lone.stats().evicted_spans, 1u);
}

// What a request costs the store is counted, and is about its bytes and an index entry per
// span (its spans' array sized by the request's span count, not more).
TEST(TraceStoreIndex, CountsAboutWhatARequestHolds) {
  std::string body;
  for (int i = 0; i < 10; ++i) body += len_field(2, small_span(static_cast<char>(1 + i % 2), "s", 1));
  const RequestPtr request = traces_request(len_field(2, body));
  TraceStore store(10, 1 << 20);
  store.add(request);
  const std::size_t bytes = store.stats().bytes;
  EXPECT_GE(bytes, request->wire().size() + 10 * sizeof(StoredSpan));
  EXPECT_LE(bytes, request->wire().size() + 10 * sizeof(StoredSpan) + 1024);
}

// A trace whose spans came in two requests gives both back when it is evicted (its spans are
// counted per request then, not all as the first one's).
TEST(TraceStoreIndex, ATraceFromTwoRequestsGivesBothBack) {
  TraceStore store(1, 1 << 20);
  store.add(traces_request(len_field(2, len_field(2, small_span(1, "a", 1)) + len_field(2, small_span(1, "b", 2)))));
  store.add(traces_request(len_field(2, len_field(2, small_span(1, "c", 3)))));
  EXPECT_EQ(names_of(store, 1), (std::vector<std::string>{"a", "b", "c"}));
  const std::string next = len_field(2, len_field(2, small_span(2, "y", 1)));
  store.add(traces_request(next));
  TraceStore lone(1, 1 << 20);
  lone.add(traces_request(next));
  EXPECT_EQ(store.stats().traces, 1u);
  EXPECT_EQ(store.stats().spans, 1u);
  EXPECT_EQ(store.stats().evicted_spans, 3u);
  EXPECT_EQ(store.stats().bytes, lone.stats().bytes);
}

// A request read once (prepare) and added to a store; the same read added to a second store
// is read again there (its spans link into the first store's traces), and both hold the trace.
TEST(TraceStoreIndex, APreparedRequestJoinsOneStoreOnly) {
  const RequestPtr request =
      traces_request(len_field(2, len_field(2, small_span(1, "a", 1)) + len_field(2, small_span(1, "b", 2))));
  auto prepared = TraceStore::prepare(*request);
  TraceStore first(10, 1 << 20), second(10, 1 << 20);
  first.add(request, prepared);
  second.add(request, prepared);
  second.add(traces_request(len_field(2, len_field(2, small_span(1, "c", 3)))));
  EXPECT_EQ(names_of(first, 1), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(names_of(second, 1), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(first.stats().spans, 2u);
}

// The search form's operations: each (name, kind) once, however the spans repeat them. Spans
// in a row that differ only in one byte of their names (below 8 bytes, in the word of the last
// 8, in a middle word) each count.
TEST(TraceStoreIndex, EveryOperationIsListedOnce) {
  TraceStore store(100, 1 << 20);
  const std::vector<std::pair<std::string, int>> spans = {
      {"short1", 2}, {"short2", 2}, {"short2", 2},
      {"GET /api/tasks/1", 2}, {"GET /api/tasks/2", 2}, {"GET /api/tasks/2", 2},
      {"abcdefgh1", 2}, {"abcdefgh2", 2}, {"0123456789a0123456789", 2}, {"0123456789b0123456789", 2},
      {"short1", 2}};
  std::string scope_spans = len_field(1, len_field(1, "lib"));
  char trace = 1;
  for (const auto& [name, kind] : spans) {
    scope_spans += len_field(2, len_field(1, id(16, trace++)) + len_field(2, id(8, 9)) + len_field(5, name) +
                                    varint_field(6, static_cast<std::uint64_t>(kind)) + fixed64_field(7, 1'000'000'000) +
                                    fixed64_field(8, 2'000'000'000));
  }
  const std::string resource = len_field(1, len_field(1, "service.name") + len_field(2, len_field(1, "todo")));
  store.add(traces_request(len_field(1, resource) + len_field(2, scope_spans)));
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"0123456789a0123456789", "server"}, {"0123456789b0123456789", "server"},
      {"GET /api/tasks/1", "server"},      {"GET /api/tasks/2", "server"},
      {"abcdefgh1", "server"},             {"abcdefgh2", "server"},
      {"short1", "server"},                {"short2", "server"}};
  EXPECT_EQ(store.operations("todo"), expected);
  EXPECT_EQ(store.services(), std::vector<std::string>{"todo"});
}

// One name seen with several kinds (a span named the same on both sides of a call, or across
// requests) is listed once with each kind, as Jaeger's /api/operations lists them; a kind OTLP
// does not define counts as unspecified ("").
TEST(TraceStoreIndex, ANameWithSeveralKindsIsListedWithEach) {
  TraceStore store(100, 1 << 20);
  const std::string resource = len_field(1, len_field(1, "service.name") + len_field(2, len_field(1, "todo")));
  char trace = 1;
  const auto request = [&](const std::vector<std::pair<std::string, int>>& spans) {
    std::string scope_spans;
    for (const auto& [name, kind] : spans) {
      scope_spans += len_field(2, len_field(1, id(16, trace++)) + len_field(2, id(8, 9)) + len_field(5, name) +
                                      varint_field(6, static_cast<std::uint64_t>(kind)) +
                                      fixed64_field(7, 1'000'000'000) + fixed64_field(8, 2'000'000'000));
    }
    return traces_request(len_field(1, resource) + len_field(2, scope_spans));
  };
  store.add(request({{"GET /items", 2}, {"GET /items", 3}, {"GET /items", 2}, {"odd", 9}}));
  store.add(request({{"GET /items", 1}, {"odd", 0}, {"GET /items", 3}}));
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"GET /items", "client"}, {"GET /items", "internal"}, {"GET /items", "server"}, {"odd", ""}};
  EXPECT_EQ(store.operations("todo"), expected);
}

// A span's ids are read from its bytes when asked (the store does not keep them): the last one
// given counts, as protobuf decodes it, and an empty parent is none.
TEST(TraceStoreIndex, IdsAreReadFromTheSpansBytes) {
  const SpanFields f;
  TraceStore store(10, 1 << 20);
  const StoredSpan twice = store_one(store, f.trace_id + len_field(2, id(8, 5)) + f.parent + f.name + f.start + f.end +
                                                f.attributes + f.span_id + len_field(4, ""));
  EXPECT_EQ(twice.ids().span_id, 2);
  EXPECT_EQ(twice.ids().parent_id, 0);
  EXPECT_EQ(twice.name(), "GET /items");
}

// Jaeger's ids: 8 bytes big-endian, signed; another length gives its last 8 bytes,
// zero-extended (one load and a swap for 8 bytes, the byte loop for the rest).
TEST(JaegerIds, ReadBigEndianWhateverTheLength) {
  using jaeger::big_endian_i64;
  EXPECT_EQ(big_endian_i64(std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8)), 0x0102030405060708);
  EXPECT_EQ(big_endian_i64(std::string(8, '\xff')), -1);
  EXPECT_EQ(big_endian_i64(std::string("\x80\0\0\0\0\0\0\x01", 8)), std::numeric_limits<std::int64_t>::min() + 1);
  EXPECT_EQ(big_endian_i64(std::string("\x01\x02\x03", 3)), 0x010203);
  EXPECT_EQ(big_endian_i64(std::string("\xaa\xbb\x01\x02\x03\x04\x05\x06\x07\x08", 10)), 0x0102030405060708);
  EXPECT_EQ(big_endian_i64(std::string()), 0);
}

}  // namespace
}  // namespace otlpd
