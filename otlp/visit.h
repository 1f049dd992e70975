#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "otlp/schema.h"
#include "otlp/signal.h"
#include "otlp/wire_reader.h"

// Reading and rewriting requests at the wire level, for processors: visit every resource,
// scope, span, data point and log record of a request without decoding it (names, ids and
// attributes are read straight from the protobuf bytes), and rewrite a request by changing
// attributes and string fields of any of them. A rewrite copies every byte it does not change
// and re-encodes only the messages it changes (and the lengths of those that hold them).
//
//   otlp::wire::visit(Signal::traces, request->wire(), [&](const otlp::wire::Item& item) {
//     if (auto v = item.item.attribute("http.route")) routes.insert(std::string(v->text));
//   });
//
// Input must be a request that the wire scan called valid (Request::receive checks this);
// reading stops quietly at anything malformed. A resource or scope given twice in one message
// (protobuf merges them; no encoder writes that) is read from its last occurrence.
// Its cost: bench/micro_bench.cpp (BM_VisitSpanAttributes, BM_RewriteOneAttributePerSpan).
namespace otlpd::otlp::wire {

// One AnyValue, read from its bytes or made to be written.
struct Value {
  enum class Kind : std::uint8_t { empty, string, boolean, integer, floating, array, kvlist, bytes };
  Kind kind = Kind::empty;
  std::string_view text;  // string and bytes; the encoded ArrayValue or KeyValueList
  std::int64_t integer = 0;
  double floating = 0;
  bool boolean = false;

  static Value read(std::string_view any_value);
  static Value of_string(std::string_view s) { return {Kind::string, s, 0, 0, false}; }
  static Value of_integer(std::int64_t i) { return {Kind::integer, {}, i, 0, false}; }
  static Value of_double(double d) { return {Kind::floating, {}, 0, d, false}; }
  static Value of_bool(bool b) { return {Kind::boolean, {}, 0, 0, b}; }
};

// One message of a request: its bytes and its type in the schema (otlp/schema.h).
class View {
 public:
  View() = default;
  View(std::string_view bytes, const schema::Message* type) : bytes_(bytes), type_(type) {}

  std::string_view bytes() const { return bytes_; }
  const schema::Message* type() const { return type_; }
  bool empty() const { return bytes_.empty(); }

  // A singular field by its proto name ("name", "kind", "start_time_unix_nano"), read as
  // protobuf does (its last occurrence): a string or bytes field's contents, or a number's raw
  // bits (varint, fixed64 or fixed32). Empty, or 0, when absent or not of that shape.
  std::string_view string(std::string_view field) const;
  std::uint64_t number(std::string_view field) const;

  // Calls f(key, value) for each attribute, in order; f may return false to stop.
  template <typename F>
  void attributes(F&& f) const {
    if (!type_ || type_->attributes == 0) return;
    WireReader r(bytes_);
    while (r.next()) {
      if (r.number != type_->attributes || r.type != WireType::len) continue;
      std::string_view key, value;
      WireReader kv(r.bytes);
      while (kv.next()) {
        if (kv.type != WireType::len) continue;
        if (kv.number == 1) key = kv.bytes;
        if (kv.number == 2) value = kv.bytes;
      }
      if constexpr (std::is_same_v<decltype(f(key, Value{})), bool>) {
        if (!f(key, Value::read(value))) return;
      } else {
        f(key, Value::read(value));
      }
    }
  }
  // The value of the attribute with this key (its first occurrence), if there is one.
  std::optional<Value> attribute(std::string_view key) const;

 private:
  std::string_view bytes_;
  const schema::Message* type_ = nullptr;
};

// What a visit sees of one span, data point or log record, and what holds it.
struct Item {
  View resource;  // Resource (empty if the request has none)
  View scope;     // InstrumentationScope
  View metric;    // data points only: their Metric
  View item;      // the Span, a *DataPoint, or the LogRecord
};

// Changes to one message: attributes set or removed, string fields set.
class Edit {
 public:
  // Replaces the attribute's first occurrence in place (and drops any later one), or appends it.
  void set_attribute(std::string_view key, const Value& value);
  void remove_attribute(std::string_view key);
  // A string field by its proto name, e.g. a span's "name".
  void set_string(std::string_view field, std::string_view value);

  bool empty() const { return attributes_.empty() && strings_.empty(); }
  // Whether it sets anything (a message that is absent is created only for that).
  bool adds() const {
    return !strings_.empty() ||
           std::any_of(attributes_.begin(), attributes_.end(), [](const AttributeChange& c) { return !c.remove; });
  }
  void clear() {
    attributes_.clear();
    strings_.clear();
  }

 private:
  friend class Rewriter;
  struct AttributeChange {
    std::string key;
    bool remove = false;
    std::string encoded;  // the whole KeyValue, for a set
  };
  std::vector<AttributeChange> attributes_;
  std::vector<std::pair<std::string, std::string>> strings_;
};

// Says what to change, level by level; the default changes nothing.
class Editor {
 public:
  virtual ~Editor() = default;
  virtual void resource(const View& /*resource*/, Edit& /*edit*/) {}
  virtual void scope(const View& /*resource*/, const View& /*scope*/, Edit& /*edit*/) {}
  virtual void item(const Item& /*item*/, Edit& /*edit*/) {}
};

// Calls f(const Item&) for every span, data point or log record of a request, in order.
template <typename F>
void visit(Signal signal, std::string_view request, F&& f);

// Writes into *out (replacing it) the request with the editor's changes. The editor sees each
// resource, then each of its scopes, then each item of the scope, as they were received.
void rewrite(Signal signal, std::string_view request, Editor& editor, std::string* out);

// ---- implementation of visit() ----------------------------------------------------------

namespace detail {
// The last occurrence of a length-delimited field, or empty.
inline std::string_view last_len(std::string_view message, std::uint32_t number) {
  std::string_view found;
  WireReader r(message);
  while (r.next()) {
    if (r.number == number && r.type == WireType::len) found = r.bytes;
  }
  return found;
}
// The types of the three levels all signals share (see visit() below), from the schema.
struct Layout {
  const schema::Message* resource;  // Resource
  const schema::Message* scope;     // InstrumentationScope
  const schema::Message* item;      // Span, LogRecord or Metric
};
inline Layout layout(Signal signal) {
  const schema::Message* resource_x = schema::request(signal).field(1)->message;
  const schema::Message* scope_x = resource_x->field(2)->message;
  return {resource_x->field(1)->message, scope_x->field(1)->message, scope_x->field(2)->message};
}
// Metric fields that hold data points: gauge, sum, histogram, exponential_histogram, summary.
inline bool is_metric_data(std::uint32_t number) {
  return number == 5 || number == 7 || number == 9 || number == 10 || number == 11;
}
}  // namespace detail

// The layout all three signals share: request.1 = Resource{Spans,Logs,Metrics}; there, 1 =
// resource and 2 = Scope{...}; there, 1 = scope and 2 = the items (spans, log records, or
// metrics, whose data field holds the data points at 1). The schema gives each its type.
template <typename F>
void visit(Signal signal, std::string_view request, F&& f) {
  const detail::Layout types = detail::layout(signal);
  Item item;
  WireReader top(request);
  while (top.next()) {
    if (top.number != 1 || top.type != WireType::len) continue;
    item.resource = View(detail::last_len(top.bytes, 1), types.resource);
    WireReader rx(top.bytes);
    while (rx.next()) {
      if (rx.number != 2 || rx.type != WireType::len) continue;
      item.scope = View(detail::last_len(rx.bytes, 1), types.scope);
      WireReader sx(rx.bytes);
      while (sx.next()) {
        if (sx.number != 2 || sx.type != WireType::len) continue;
        if (signal != Signal::metrics) {
          item.item = View(sx.bytes, types.item);
          f(static_cast<const Item&>(item));
          continue;
        }
        item.metric = View(sx.bytes, types.item);
        WireReader m(sx.bytes);
        while (m.next()) {
          if (!detail::is_metric_data(m.number) || m.type != WireType::len) continue;
          const schema::Message* data_type = types.item->field(m.number)->message;
          const schema::Message* point_type = data_type->field(1)->message;
          WireReader d(m.bytes);
          while (d.next()) {
            if (d.number != 1 || d.type != WireType::len) continue;
            item.item = View(d.bytes, point_type);
            f(static_cast<const Item&>(item));
          }
        }
      }
    }
  }
}

}  // namespace otlpd::otlp::wire
