#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <random>

#include "otlp/request.h"
#include "otlp/visit.h"
#include "support/sample_requests.h"

// The wire-level visitor and rewriter, checked against protobuf's generated classes: what a
// visit reads equals what the decoded message holds, and a rewrite equals the same changes
// made to the decoded message through its API.
namespace otlpd {
namespace {

namespace wire = otlp::wire;
using google::protobuf::util::MessageDifferencer;
using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::common::v1::KeyValue;
using KeyValues = google::protobuf::RepeatedPtrField<KeyValue>;

std::string kv_string(const KeyValues& attributes) {
  std::string out;
  for (const KeyValue& kv : attributes) {
    out += kv.key() + "=";
    const AnyValue& v = kv.value();
    switch (v.value_case()) {
      case AnyValue::kStringValue: out += "s:" + v.string_value(); break;
      case AnyValue::kBoolValue: out += v.bool_value() ? "b:1" : "b:0"; break;
      case AnyValue::kIntValue: out += "i:" + std::to_string(v.int_value()); break;
      case AnyValue::kDoubleValue: out += "d:" + std::to_string(v.double_value()); break;
      case AnyValue::kArrayValue: out += "a:" + v.array_value().SerializeAsString(); break;
      case AnyValue::kKvlistValue: out += "k:" + v.kvlist_value().SerializeAsString(); break;
      case AnyValue::kBytesValue: out += "y:" + v.bytes_value(); break;
      default: out += "-"; break;
    }
    out += ";";
  }
  return out;
}

std::string kv_string(const wire::View& view) {
  std::string out;
  view.attributes([&](std::string_view key, const wire::Value& v) {
    out += std::string(key) + "=";
    switch (v.kind) {
      case wire::Value::Kind::string: out += "s:" + std::string(v.text); break;
      case wire::Value::Kind::boolean: out += v.boolean ? "b:1" : "b:0"; break;
      case wire::Value::Kind::integer: out += "i:" + std::to_string(v.integer); break;
      case wire::Value::Kind::floating: out += "d:" + std::to_string(v.floating); break;
      case wire::Value::Kind::array: out += "a:" + std::string(v.text); break;
      case wire::Value::Kind::kvlist: out += "k:" + std::string(v.text); break;
      case wire::Value::Kind::bytes: out += "y:" + std::string(v.text); break;
      case wire::Value::Kind::empty: out += "-"; break;
    }
    out += ";";
  });
  return out;
}

// One line per item, from the decoded message.
std::vector<std::string> lines_from_message(Signal signal, const google::protobuf::Message& message) {
  std::vector<std::string> lines;
  auto add = [&](const auto& resource, const auto& scope, const std::string& metric, const std::string& name,
                 const KeyValues& attributes) {
    lines.push_back(kv_string(resource.attributes()) + "|" + scope.name() + "|" + kv_string(scope.attributes()) +
                    "|" + metric + "|" + name + "|" + kv_string(attributes));
  };
  switch (signal) {
    case Signal::traces:
      for (const auto& rs : static_cast<const otlp::TracesRequest&>(message).resource_spans())
        for (const auto& ss : rs.scope_spans())
          for (const auto& span : ss.spans()) add(rs.resource(), ss.scope(), "", span.name(), span.attributes());
      break;
    case Signal::logs:
      for (const auto& rl : static_cast<const otlp::LogsRequest&>(message).resource_logs())
        for (const auto& sl : rl.scope_logs())
          for (const auto& log : sl.log_records()) add(rl.resource(), sl.scope(), "", log.event_name(), log.attributes());
      break;
    case Signal::metrics:
      for (const auto& rm : static_cast<const otlp::MetricsRequest&>(message).resource_metrics())
        for (const auto& sm : rm.scope_metrics())
          for (const auto& m : sm.metrics()) {
            for (const auto& p : m.gauge().data_points()) add(rm.resource(), sm.scope(), m.name(), "", p.attributes());
            for (const auto& p : m.sum().data_points()) add(rm.resource(), sm.scope(), m.name(), "", p.attributes());
            for (const auto& p : m.histogram().data_points()) add(rm.resource(), sm.scope(), m.name(), "", p.attributes());
            for (const auto& p : m.exponential_histogram().data_points())
              add(rm.resource(), sm.scope(), m.name(), "", p.attributes());
            for (const auto& p : m.summary().data_points()) add(rm.resource(), sm.scope(), m.name(), "", p.attributes());
          }
      break;
  }
  return lines;
}

std::vector<std::string> lines_from_visit(Signal signal, std::string_view bytes) {
  std::vector<std::string> lines;
  wire::visit(signal, bytes, [&](const wire::Item& item) {
    const std::string name(signal == Signal::traces ? item.item.string("name")
                           : signal == Signal::logs ? item.item.string("event_name")
                                                    : std::string_view{});
    lines.push_back(kv_string(item.resource) + "|" + std::string(item.scope.string("name")) + "|" +
                    kv_string(item.scope) + "|" + std::string(item.metric.string("name")) + "|" + name + "|" +
                    kv_string(item.item));
  });
  return lines;
}

RequestPtr decoded(Signal signal, const std::string& bytes) {
  std::string error;
  RequestPtr request = Request::decode(signal, bytes.data(), bytes.size(), &error);
  EXPECT_TRUE(request) << error;
  return request;
}

TEST(Visit, SeesWhatTheDecodedMessageHolds) {
  std::mt19937 rng(5);
  for (int round = 0; round < 20; ++round) {
    for (Signal signal : kAllSignals) {
      const std::string bytes = rich_request(signal, rng);
      const RequestPtr request = decoded(signal, bytes);
      const auto expected = lines_from_message(signal, request->message());
      ASSERT_FALSE(expected.empty());
      EXPECT_EQ(lines_from_visit(signal, bytes), expected) << to_string(signal);
      std::size_t items = 0;
      wire::visit(signal, bytes, [&](const wire::Item&) { ++items; });
      EXPECT_EQ(items, request->item_count());
    }
  }
}

TEST(Visit, ReadsIdsNumbersAndSingleAttributes) {
  otlp::TracesRequest request;
  auto* span = request.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, '\x01'));
  span->set_name("GET /");
  span->set_kind(opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER);
  span->set_start_time_unix_nano(1'700'000'000'123'456'789ULL);
  auto* kv = span->add_attributes();
  kv->set_key("http.status_code");
  kv->mutable_value()->set_int_value(-5);
  kv = span->add_attributes();
  kv->set_key("ratio");
  kv->mutable_value()->set_double_value(0.25);
  const std::string bytes = request.SerializeAsString();
  int seen = 0;
  wire::visit(Signal::traces, bytes, [&](const wire::Item& item) {
    ++seen;
    EXPECT_EQ(item.item.string("trace_id"), std::string(16, '\x01'));
    EXPECT_EQ(item.item.string("name"), "GET /");
    EXPECT_EQ(item.item.number("kind"), 2u);
    EXPECT_EQ(item.item.number("start_time_unix_nano"), 1'700'000'000'123'456'789ULL);
    ASSERT_TRUE(item.item.attribute("http.status_code"));
    EXPECT_EQ(item.item.attribute("http.status_code")->integer, -5);
    EXPECT_EQ(item.item.attribute("ratio")->floating, 0.25);
    EXPECT_FALSE(item.item.attribute("absent"));
    EXPECT_TRUE(item.resource.empty());
  });
  EXPECT_EQ(seen, 1);
}

// Sets, replaces and removes attributes at every level, and renames, the same way through the
// rewriter and through protobuf's API.
class TestEditor : public wire::Editor {
 public:
  void resource(const wire::View&, wire::Edit& edit) override {
    edit.set_attribute("deployment.environment", wire::Value::of_string("prod"));
  }
  void scope(const wire::View&, const wire::View&, wire::Edit& edit) override {
    edit.set_attribute("scope.seen", wire::Value::of_bool(true));
  }
  void item(const wire::Item& item, wire::Edit& edit) override {
    ++items;
    edit.set_attribute("item.index", wire::Value::of_integer(items));
    std::size_t n = 0;
    item.item.attributes([&](std::string_view key, const wire::Value&) {
      if (n++ == 0) first_keys.emplace_back(key);
    });
    if (n == 0) first_keys.emplace_back();
    if (n > 0) edit.set_attribute(first_keys.back(), wire::Value::of_double(1.5));  // replaced in place
    if (n > 1) {
      edit.remove_attribute(second_key(item.item));
      ++removed;
    }
    if (n > 0) ++replaced;
    if (item.item.type()->find("name")) edit.set_string("name", "renamed");
  }
  static std::string second_key(const wire::View& view) {
    std::string key;
    std::size_t n = 0;
    view.attributes([&](std::string_view k, const wire::Value&) {
      if (n++ == 1) key = k;
    });
    return key;
  }
  std::int64_t items = 0;
  int removed = 0, replaced = 0;
  std::vector<std::string> first_keys;
};

void set(KeyValues* attributes, const std::string& key, const AnyValue& value) {
  for (auto& kv : *attributes) {
    if (kv.key() == key) {
      *kv.mutable_value() = value;
      return;
    }
  }
  auto* kv = attributes->Add();
  kv->set_key(key);
  *kv->mutable_value() = value;
}

void remove(KeyValues* attributes, const std::string& key) {
  for (int i = 0; i < attributes->size(); ++i) {
    if (attributes->Get(i).key() == key) {
      attributes->DeleteSubrange(i, 1);
      return;
    }
  }
}

template <typename Item>
void edit_like_the_editor(Item* item, std::int64_t index, bool has_name) {
  AnyValue v;
  v.set_int_value(index);
  const int n = item->attributes_size();
  const std::string first = n > 0 ? item->attributes(0).key() : "";
  const std::string second = n > 1 ? item->attributes(1).key() : "";
  set(item->mutable_attributes(), "item.index", v);
  if (n > 0) {
    AnyValue d;
    d.set_double_value(1.5);
    set(item->mutable_attributes(), first, d);
  }
  if (n > 1) remove(item->mutable_attributes(), second);
  if (has_name) {
    if constexpr (requires { item->set_name(std::string()); }) item->set_name("renamed");
  }
}

template <typename ResourceX>
void edit_levels(ResourceX* rx) {
  AnyValue prod;
  prod.set_string_value("prod");
  set(rx->mutable_resource()->mutable_attributes(), "deployment.environment", prod);
}

// Two more attributes on every message that has attributes (so that items have some to replace
// and to remove), through reflection.
void add_attributes_everywhere(google::protobuf::Message* message) {
  const auto* descriptor = message->GetDescriptor();
  const auto* reflection = message->GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* field = descriptor->field(i);
    if (field->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int j = 0; j < reflection->FieldSize(*message, field); ++j) {
        add_attributes_everywhere(reflection->MutableRepeatedMessage(message, field, j));
      }
    } else if (reflection->HasField(*message, field)) {
      add_attributes_everywhere(reflection->MutableMessage(message, field));
    }
  }
  if (const auto* attributes = descriptor->FindFieldByName("attributes");
      attributes && attributes->message_type() == KeyValue::descriptor()) {
    for (const char* key : {"extra.a", "extra.b"}) {
      auto* kv = static_cast<KeyValue*>(reflection->AddMessage(message, attributes));
      kv->set_key(key);
      kv->mutable_value()->set_string_value(key);
    }
  }
}

TEST(Rewrite, EqualsTheSameChangesMadeThroughProtobuf) {
  std::mt19937 rng(9);
  int removed = 0, replaced = 0;
  for (int round = 0; round < 10; ++round) {
    for (Signal signal : kAllSignals) {
      std::string bytes = rich_request(signal, rng);
      if (round % 2 == 1) {
        auto message = std::unique_ptr<google::protobuf::Message>(decoded(signal, bytes)->message().New());
        ASSERT_TRUE(message->ParseFromString(bytes));
        add_attributes_everywhere(message.get());
        bytes = message->SerializeAsString();
      }
      TestEditor editor;
      std::string rewritten;
      wire::rewrite(signal, bytes, editor, &rewritten);

      auto expected = decoded(signal, bytes)->message().New();
      ASSERT_TRUE(expected->ParseFromString(bytes));
      AnyValue yes;
      yes.set_bool_value(true);
      std::int64_t index = 0;
      switch (signal) {
        case Signal::traces:
          for (auto& rs : *static_cast<otlp::TracesRequest*>(expected)->mutable_resource_spans()) {
            edit_levels(&rs);
            for (auto& ss : *rs.mutable_scope_spans()) {
              set(ss.mutable_scope()->mutable_attributes(), "scope.seen", yes);
              for (auto& span : *ss.mutable_spans()) edit_like_the_editor(&span, ++index, true);
            }
          }
          break;
        case Signal::logs:
          for (auto& rl : *static_cast<otlp::LogsRequest*>(expected)->mutable_resource_logs()) {
            edit_levels(&rl);
            for (auto& sl : *rl.mutable_scope_logs()) {
              set(sl.mutable_scope()->mutable_attributes(), "scope.seen", yes);
              for (auto& log : *sl.mutable_log_records()) edit_like_the_editor(&log, ++index, false);
            }
          }
          break;
        case Signal::metrics:
          for (auto& rm : *static_cast<otlp::MetricsRequest*>(expected)->mutable_resource_metrics()) {
            edit_levels(&rm);
            for (auto& sm : *rm.mutable_scope_metrics()) {
              set(sm.mutable_scope()->mutable_attributes(), "scope.seen", yes);
              for (auto& m : *sm.mutable_metrics()) {
                using Metric = opentelemetry::proto::metrics::v1::Metric;
                auto edit_points = [&](auto* points) {
                  for (auto& p : *points) edit_like_the_editor(&p, ++index, false);
                };
                switch (m.data_case()) {  // (a mutable_ accessor of another member would switch the oneof)
                  case Metric::kGauge: edit_points(m.mutable_gauge()->mutable_data_points()); break;
                  case Metric::kSum: edit_points(m.mutable_sum()->mutable_data_points()); break;
                  case Metric::kHistogram: edit_points(m.mutable_histogram()->mutable_data_points()); break;
                  case Metric::kExponentialHistogram:
                    edit_points(m.mutable_exponential_histogram()->mutable_data_points());
                    break;
                  case Metric::kSummary: edit_points(m.mutable_summary()->mutable_data_points()); break;
                  default: break;
                }
              }
            }
          }
          break;
      }
      EXPECT_EQ(editor.items, index);
      removed += editor.removed;
      replaced += editor.replaced;
      auto actual = std::unique_ptr<google::protobuf::Message>(expected->New());
      ASSERT_TRUE(actual->ParseFromString(rewritten));
      std::string diff;
      MessageDifferencer differencer;
      differencer.ReportDifferencesToString(&diff);
      EXPECT_TRUE(differencer.Compare(*expected, *actual)) << to_string(signal) << ": " << diff;
      delete expected;
      // The rewritten request is as valid as the original.
      std::string error;
      EXPECT_TRUE(Request::receive(signal, WireBytes{reinterpret_cast<const std::uint8_t*>(rewritten.data()),
                                                      rewritten.size(), nullptr},
                                   &error))
          << error;
    }
  }
  EXPECT_GT(removed, 10);  // the requests had items with attributes to replace and remove
  EXPECT_GT(replaced, 10);
}

TEST(Rewrite, WithoutChangesGivesTheSameBytes) {
  std::mt19937 rng(11);
  for (Signal signal : kAllSignals) {
    const std::string bytes = rich_request(signal, rng);
    wire::Editor nothing;
    std::string rewritten;
    wire::rewrite(signal, bytes, nothing, &rewritten);
    EXPECT_EQ(rewritten, bytes) << to_string(signal);
  }
}

}  // namespace
}  // namespace otlpd
