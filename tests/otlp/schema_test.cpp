#include <gtest/gtest.h>

#include <set>

#include "otlp/request.h"
#include "otlp/schema.h"

namespace otlpd {
namespace {

namespace pb = google::protobuf;

// Every field of every message reachable from the three requests is in the table, under its
// number (all below kMaxFieldNumber), with both key spellings and the right checks.
TEST(Schema, HoldsEveryFieldOfEveryReachableMessage) {
  std::set<const pb::Descriptor*> seen;
  std::vector<const pb::Descriptor*> todo = {otlp::TracesRequest::descriptor(), otlp::MetricsRequest::descriptor(),
                                             otlp::LogsRequest::descriptor()};
  std::size_t fields = 0;
  while (!todo.empty()) {
    const pb::Descriptor* d = todo.back();
    todo.pop_back();
    if (!seen.insert(d).second) continue;
    const schema::Message* m = schema::message(d);
    ASSERT_NE(m, nullptr) << d->full_name();
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      ASSERT_LT(static_cast<std::uint32_t>(f->number()), schema::Message::kMaxFieldNumber) << f->full_name();
      const schema::Field* field = m->field(static_cast<std::uint64_t>(f->number()));
      ASSERT_NE(field, nullptr) << f->full_name();
      EXPECT_EQ(field->descriptor, f);
      EXPECT_EQ(m->find(f->json_name()), field);
      EXPECT_EQ(m->find(f->name()), field);
      EXPECT_EQ(field->json_key, "\"" + f->json_name() + "\":");
      if (f->message_type()) {
        EXPECT_EQ(field->message, schema::message(f->message_type()));
        todo.push_back(f->message_type());
      }
      ++fields;
    }
    for (std::uint32_t n = 0; n < schema::Message::kMaxFieldNumber; ++n) {
      if (!d->FindFieldByNumber(static_cast<int>(n))) {
        EXPECT_EQ(m->field(n), nullptr);
      }
    }
  }
  EXPECT_GT(seen.size(), 30u);
  EXPECT_GT(fields, 150u);
  const schema::Message& traces = schema::request(Signal::traces);
  const schema::Field* spans = traces.field(1)->message->field(2)->message->field(2);
  ASSERT_NE(spans, nullptr);
  EXPECT_EQ(spans->name(), "spans");
  EXPECT_TRUE(spans->counts_items);
  EXPECT_EQ(spans->message->find("traceId")->id_bytes, 16);
  EXPECT_EQ(spans->message->find("parent_span_id")->id_bytes, 8);
  EXPECT_EQ(spans->message->find("name")->check, schema::Field::Check::utf8);
}

}  // namespace
}  // namespace otlpd
