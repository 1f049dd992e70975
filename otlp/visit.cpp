#include "otlp/visit.h"

#include <algorithm>
#include <cstring>

namespace otlpd::otlp::wire {
namespace {

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_tag(std::string& out, std::uint32_t number, WireType type) {
  put_varint(out, (static_cast<std::uint64_t>(number) << 3) | static_cast<std::uint64_t>(type));
}

void put_len(std::string& out, std::uint32_t number, std::string_view bytes) {
  put_tag(out, number, WireType::len);
  put_varint(out, bytes.size());
  out.append(bytes);
}

// AnyValue's fields: string_value 1, bool_value 2, int_value 3, double_value 4, array_value 5,
// kvlist_value 6, bytes_value 7.
std::string encode_any_value(const Value& v) {
  std::string out;
  switch (v.kind) {
    case Value::Kind::empty: break;
    case Value::Kind::string: put_len(out, 1, v.text); break;
    case Value::Kind::boolean:
      put_tag(out, 2, WireType::varint);
      put_varint(out, v.boolean ? 1 : 0);
      break;
    case Value::Kind::integer:
      put_tag(out, 3, WireType::varint);
      put_varint(out, static_cast<std::uint64_t>(v.integer));
      break;
    case Value::Kind::floating: {
      put_tag(out, 4, WireType::i64);
      char bits[8];
      std::memcpy(bits, &v.floating, 8);
      out.append(bits, 8);
      break;
    }
    case Value::Kind::array: put_len(out, 5, v.text); break;
    case Value::Kind::kvlist: put_len(out, 6, v.text); break;
    case Value::Kind::bytes: put_len(out, 7, v.text); break;
  }
  return out;
}

std::string_view key_of(std::string_view key_value) {
  std::string_view key;
  WireReader kv(key_value);
  while (kv.next()) {
    if (kv.number == 1 && kv.type == WireType::len) key = kv.bytes;
  }
  return key;
}

}  // namespace

Value Value::read(std::string_view any_value) {
  Value v;
  WireReader r(any_value);
  while (r.next()) {  // the oneof's last member wins, as in protobuf
    switch (r.number) {
      case 1: if (r.type == WireType::len) v = of_string(r.bytes); break;
      case 2: if (r.type == WireType::varint) v = of_bool(r.value != 0); break;
      case 3: if (r.type == WireType::varint) v = of_integer(static_cast<std::int64_t>(r.value)); break;
      case 4:
        if (r.type == WireType::i64) {
          double d;
          std::memcpy(&d, &r.value, 8);
          v = of_double(d);
        }
        break;
      case 5: if (r.type == WireType::len) v = {Kind::array, r.bytes, 0, 0, false}; break;
      case 6: if (r.type == WireType::len) v = {Kind::kvlist, r.bytes, 0, 0, false}; break;
      case 7: if (r.type == WireType::len) v = {Kind::bytes, r.bytes, 0, 0, false}; break;
      default: break;
    }
  }
  return v;
}

std::string_view View::string(std::string_view field) const {
  const schema::Field* f = type_ ? type_->find(field) : nullptr;
  return f ? detail::last_len(bytes_, f->number) : std::string_view{};
}

std::uint64_t View::number(std::string_view field) const {
  const schema::Field* f = type_ ? type_->find(field) : nullptr;
  if (!f) return 0;
  std::uint64_t value = 0;
  WireReader r(bytes_);
  while (r.next()) {
    if (r.number == f->number && r.type != WireType::len) value = r.value;
  }
  return value;
}

std::optional<Value> View::attribute(std::string_view key) const {
  std::optional<Value> found;
  attributes([&](std::string_view k, const Value& v) {
    if (k != key) return true;
    found = v;
    return false;
  });
  return found;
}

void Edit::set_attribute(std::string_view key, const Value& value) {
  std::erase_if(attributes_, [&](const AttributeChange& c) { return c.key == key; });
  std::string encoded;
  put_len(encoded, 1, key);
  put_len(encoded, 2, encode_any_value(value));
  attributes_.push_back({std::string(key), false, std::move(encoded)});
}

void Edit::remove_attribute(std::string_view key) {
  std::erase_if(attributes_, [&](const AttributeChange& c) { return c.key == key; });
  attributes_.push_back({std::string(key), true, {}});
}

void Edit::set_string(std::string_view field, std::string_view value) {
  for (auto& [name, v] : strings_) {
    if (name == field) {
      v = value;
      return;
    }
  }
  strings_.emplace_back(field, value);
}

// Rebuilds the request level by level, each into a buffer of its own that is reused for every
// message of that level. Messages without changes are copied as they are.
class Rewriter {
 public:
  Rewriter(Signal signal, Editor& editor) : signal_(signal), editor_(editor), types_(detail::layout(signal)) {}

  void run(std::string_view request, std::string* out) {
    out->clear();
    WireReader top(request);
    while (top.next()) {
      if (top.number != 1 || top.type != WireType::len) {
        copy_field(top, request, *out);
        continue;
      }
      resource_x(top.bytes);
      put_len(*out, 1, levels_[0]);
    }
  }

 private:
  // Levels: 0 Resource{X}, 1 Scope{X}, 2 Metric (metrics), 3 its data (metrics), 4 an edited message.
  void resource_x(std::string_view bytes) {
    std::string& out = levels_[0];
    out.clear();
    item_.resource = View(detail::last_len(bytes, 1), types_.resource);
    resource_edit_.clear();
    editor_.resource(item_.resource, resource_edit_);
    bool resource_written = false;
    WireReader r(bytes);
    while (r.next()) {
      if (r.type == WireType::len && r.number == 1) {
        resource_written = write_once(r, bytes, item_.resource, resource_edit_, resource_written, out);
        continue;
      }
      if (r.type == WireType::len && r.number == 2) {
        scope_x(r.bytes);
        put_len(out, 2, levels_[1]);
        continue;
      }
      copy_field(r, bytes, out);
    }
    if (!resource_written && resource_edit_.adds()) write_edited(1, item_.resource, resource_edit_, out);
  }

  void scope_x(std::string_view bytes) {
    std::string& out = levels_[1];
    out.clear();
    item_.scope = View(detail::last_len(bytes, 1), types_.scope);
    scope_edit_.clear();
    editor_.scope(item_.resource, item_.scope, scope_edit_);
    bool scope_written = false;
    WireReader r(bytes);
    while (r.next()) {
      if (r.type == WireType::len && r.number == 1) {
        scope_written = write_once(r, bytes, item_.scope, scope_edit_, scope_written, out);
        continue;
      }
      if (r.type == WireType::len && r.number == 2) {
        if (signal_ == Signal::metrics) {
          metric(r.bytes);
          put_len(out, 2, levels_[2]);
        } else {
          item_.item = View(r.bytes, types_.item);
          edit_.clear();
          editor_.item(item_, edit_);
          write_edited(2, item_.item, edit_, out);
        }
        continue;
      }
      copy_field(r, bytes, out);
    }
    if (!scope_written && scope_edit_.adds()) write_edited(1, item_.scope, scope_edit_, out);
  }

  void metric(std::string_view bytes) {
    std::string& out = levels_[2];
    out.clear();
    item_.metric = View(bytes, types_.item);
    WireReader r(bytes);
    while (r.next()) {
      if (r.type != WireType::len || !detail::is_metric_data(r.number)) {
        copy_field(r, bytes, out);
        continue;
      }
      const schema::Message* data_type = types_.item->field(r.number)->message;
      const schema::Message* point_type = data_type->field(1)->message;
      std::string& data = levels_[3];
      data.clear();
      WireReader d(r.bytes);
      while (d.next()) {
        if (d.number != 1 || d.type != WireType::len) {
          copy_field(d, r.bytes, data);
          continue;
        }
        item_.item = View(d.bytes, point_type);
        edit_.clear();
        editor_.item(item_, edit_);
        write_edited(1, item_.item, edit_, data);
      }
      put_len(out, r.number, data);
    }
  }

  // A resource or scope field. Without changes, each occurrence is copied as it is. With
  // changes, the message (as View read it: its last occurrence) is written changed where the
  // first occurrence was, and later ones are dropped. Returns that it was written.
  bool write_once(const WireReader& r, std::string_view container, const View& message, const Edit& edit,
                  bool written, std::string& out) {
    if (edit.empty()) {
      copy_field(r, container, out);
    } else if (!written) {
      write_edited(r.number, message, edit, out);
    }
    return true;
  }

  // Writes field `number` holding `message` with `edit` applied.
  void write_edited(std::uint32_t number, const View& message, const Edit& edit, std::string& out) {
    if (edit.empty()) {
      put_len(out, number, message.bytes());
      return;
    }
    std::string& changed = levels_[4];
    changed.clear();
    apply(message, edit, changed);
    put_len(out, number, changed);
  }

  // The message's fields with the edit applied: set attributes replace their first occurrence,
  // removed ones and later occurrences are dropped, set strings replace the field.
  void apply(const View& message, const Edit& edit, std::string& out) {
    const schema::Message* type = message.type();
    const std::uint32_t attributes = type ? type->attributes : 0;
    written_.assign(edit.attributes_.size(), false);
    string_numbers_.clear();
    for (const auto& [name, value] : edit.strings_) {
      const schema::Field* f = type ? type->find(name) : nullptr;
      string_numbers_.push_back(f && (f->type == google::protobuf::FieldDescriptor::TYPE_STRING ||
                                      f->type == google::protobuf::FieldDescriptor::TYPE_BYTES)
                                    ? f->number
                                    : 0);
    }
    WireReader r(message.bytes());
    while (r.next()) {
      if (attributes != 0 && r.number == attributes && r.type == WireType::len) {
        const std::string_view key = key_of(r.bytes);
        const auto change = std::find_if(edit.attributes_.begin(), edit.attributes_.end(),
                                         [&](const Edit::AttributeChange& c) { return c.key == key; });
        if (change == edit.attributes_.end()) {
          copy_field(r, message.bytes(), out);
          continue;
        }
        const auto i = static_cast<std::size_t>(change - edit.attributes_.begin());
        if (!change->remove && !written_[i]) put_len(out, attributes, change->encoded);
        written_[i] = true;
        continue;
      }
      if (r.type == WireType::len &&
          std::find(string_numbers_.begin(), string_numbers_.end(), r.number) != string_numbers_.end()) {
        continue;  // replaced below
      }
      copy_field(r, message.bytes(), out);
    }
    for (std::size_t i = 0; i < edit.strings_.size(); ++i) {
      if (string_numbers_[i] != 0) put_len(out, string_numbers_[i], edit.strings_[i].second);
    }
    for (std::size_t i = 0; i < edit.attributes_.size(); ++i) {
      const auto& change = edit.attributes_[i];
      if (!change.remove && !written_[i] && attributes != 0) put_len(out, attributes, change.encoded);
    }
  }

  // The field the reader just read, byte for byte.
  static void copy_field(const WireReader& r, std::string_view message, std::string& out) {
    out.append(message.substr(r.field_offset(), r.offset() - r.field_offset()));
  }

  Signal signal_;
  Editor& editor_;
  detail::Layout types_;
  Item item_;
  Edit resource_edit_, scope_edit_, edit_;
  std::string levels_[5];
  std::vector<bool> written_;
  std::vector<std::uint32_t> string_numbers_;
};

void rewrite(Signal signal, std::string_view request, Editor& editor, std::string* out) {
  Rewriter rewriter(signal, editor);
  rewriter.run(request, out);
}

}  // namespace otlpd::otlp::wire
