#include "otlp/schema.h"

#include <deque>
#include <memory>
#include <unordered_map>

#include "otlp/request.h"

namespace otlpd::schema {
namespace {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;

bool is_item_field(const FD* f) {
  return f->name() == "spans" || f->name() == "log_records" || f->name() == "data_points";
}

class Tables {
 public:
  static const Tables& get() {
    static const Tables tables;  // built once, on first use, from the compiled-in descriptors
    return tables;
  }

  const Message& root(Signal signal) const { return *roots_[static_cast<std::size_t>(signal)]; }
  const Message* find(const pb::Descriptor* d) const {
    const auto it = messages_.find(d);
    return it == messages_.end() ? nullptr : it->second.get();
  }

 private:
  Tables() {
    roots_[static_cast<std::size_t>(Signal::traces)] = build(otlp::TracesRequest::descriptor());
    roots_[static_cast<std::size_t>(Signal::metrics)] = build(otlp::MetricsRequest::descriptor());
    roots_[static_cast<std::size_t>(Signal::logs)] = build(otlp::LogsRequest::descriptor());
  }

  const Message* build(const pb::Descriptor* d) {
    auto [it, inserted] = messages_.try_emplace(d);
    if (!inserted) return it->second.get();
    it->second = std::make_unique<Message>();
    Message* m = it->second.get();
    m->descriptor = d;
    for (int i = 0; i < d->field_count(); ++i) {
      const FD* f = d->field(i);
      if (static_cast<std::uint32_t>(f->number()) >= Message::kMaxFieldNumber) continue;  // none in OTLP
      Field& field = m->fields[static_cast<std::size_t>(f->number())];
      field.known = true;
      field.descriptor = f;
      field.number = static_cast<std::uint32_t>(f->number());
      field.type = f->type();
      field.repeated = f->is_repeated();
      field.presence = f->has_presence();
      field.counts_items = is_item_field(f);
      field.oneof = f->real_containing_oneof() ? static_cast<std::int16_t>(f->real_containing_oneof()->index()) : -1;
      field.json_key = keys_.emplace_back("\"" + f->json_name() + "\":");
      switch (f->type()) {
        case FD::TYPE_MESSAGE:
          field.check = Field::Check::message;
          field.message = build(f->message_type());
          break;
        case FD::TYPE_STRING:
          field.check = Field::Check::utf8;
          break;
        case FD::TYPE_BYTES:
          if (f->name() == "trace_id") field.id_bytes = 16;
          if (f->name() == "span_id" || f->name() == "parent_span_id") field.id_bytes = 8;
          // Exemplar ids are printed in hex too, but not checked: they are optional, and otlpd
          // has always taken them whatever their length (as the decoded-message check did).
          if (field.id_bytes && d->name() != "Exemplar") field.check = Field::Check::id;
          break;
        case FD::TYPE_FIXED64: case FD::TYPE_SFIXED64: case FD::TYPE_DOUBLE:
          field.width = 8;
          if (field.repeated) field.check = Field::Check::packed_fixed;
          break;
        case FD::TYPE_FIXED32: case FD::TYPE_SFIXED32: case FD::TYPE_FLOAT:
          field.width = 4;
          if (field.repeated) field.check = Field::Check::packed_fixed;
          break;
        default:
          if (field.repeated) field.check = Field::Check::packed_varint;
          break;
      }
    }
    for (int i = 0; i < d->field_count(); ++i) {
      const FD* f = d->field(i);
      const Field* field = m->field(static_cast<std::uint64_t>(f->number()));
      if (!field) continue;
      if (f->name() == "attributes" && f->is_repeated() && f->message_type() &&
          f->message_type()->name() == "KeyValue") {
        m->attributes = field->number;
      }
      m->keys.emplace_back(f->json_name(), field);
      if (f->name() != f->json_name()) m->keys.emplace_back(f->name(), field);
    }
    return m;
  }

  std::unordered_map<const pb::Descriptor*, std::unique_ptr<Message>> messages_;
  std::deque<std::string> keys_;  // the JSON keys the fields point to (a deque: they never move)
  std::array<const Message*, 3> roots_{};
};

}  // namespace

const Message& request(Signal signal) { return Tables::get().root(signal); }

const Message* message(const pb::Descriptor* descriptor) { return Tables::get().find(descriptor); }

}  // namespace otlpd::schema
