#include "otlp/wire_scan.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/common.h>

#include <array>
#include <memory>
#include <unordered_map>
#include <vector>

#include "otlp/request.h"
#include "otlp/wire_reader.h"

namespace otlpd {
namespace {

namespace pb = google::protobuf;

constexpr int kMaxFieldNumber = 32;  // OTLP field numbers are all below this
constexpr int kMaxDepth = 100;       // protobuf's default recursion limit

// How the scanner treats one field of one message type, derived from the descriptors.
struct FieldRule {
  enum class Kind : std::uint8_t {
    skip,          // unknown or nothing to check
    message,       // recurse with `table`
    utf8,          // proto3 string: must be valid UTF-8
    id,            // trace/span id: length must be 0 or `id_length`
    packed_fixed,  // repeated fixed-size numbers: packed length must be a multiple of `width`
    packed_varint, // repeated varints: every packed varint must be well-formed
  };
  Kind kind = Kind::skip;
  bool counts_items = false;  // each occurrence is one span / data point / log record
  std::uint8_t width = 0;
  std::uint8_t id_length = 0;
  const struct Table* table = nullptr;
};

struct Table {
  std::array<FieldRule, kMaxFieldNumber> fields{};
};

bool is_item_field(const pb::FieldDescriptor* f) {
  const std::string& name = f->name();
  return name == "spans" || name == "log_records" || name == "data_points";
}

class Tables {
 public:
  const Table* root(Signal signal) const { return roots_[static_cast<std::size_t>(signal)]; }

  static const Tables& get() {
    static const Tables tables;  // built once from the compiled-in descriptors
    return tables;
  }

 private:
  Tables() {
    roots_[0] = build(otlp::TracesRequest::descriptor());
    roots_[1] = build(otlp::MetricsRequest::descriptor());
    roots_[2] = build(otlp::LogsRequest::descriptor());
  }

  const Table* build(const pb::Descriptor* d) {
    if (auto it = by_descriptor_.find(d); it != by_descriptor_.end()) return it->second;
    storage_.push_back(std::make_unique<Table>());
    Table* table = storage_.back().get();
    by_descriptor_[d] = table;
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      if (f->number() >= kMaxFieldNumber) continue;
      FieldRule& rule = table->fields[static_cast<std::size_t>(f->number())];
      rule.counts_items = is_item_field(f);
      switch (f->type()) {
        case pb::FieldDescriptor::TYPE_MESSAGE:
          rule.kind = FieldRule::Kind::message;
          rule.table = build(f->message_type());
          break;
        case pb::FieldDescriptor::TYPE_STRING:
          rule.kind = FieldRule::Kind::utf8;
          break;
        case pb::FieldDescriptor::TYPE_BYTES:
          if (f->name() == "trace_id") rule = {FieldRule::Kind::id, false, 0, 16, nullptr};
          if (f->name() == "span_id" || f->name() == "parent_span_id") rule = {FieldRule::Kind::id, false, 0, 8, nullptr};
          break;
        case pb::FieldDescriptor::TYPE_FIXED64:
        case pb::FieldDescriptor::TYPE_SFIXED64:
        case pb::FieldDescriptor::TYPE_DOUBLE:
          if (f->is_repeated()) rule = {FieldRule::Kind::packed_fixed, false, 8, 0, nullptr};
          break;
        case pb::FieldDescriptor::TYPE_FIXED32:
        case pb::FieldDescriptor::TYPE_SFIXED32:
        case pb::FieldDescriptor::TYPE_FLOAT:
          if (f->is_repeated()) rule = {FieldRule::Kind::packed_fixed, false, 4, 0, nullptr};
          break;
        default:
          if (f->is_repeated()) rule.kind = FieldRule::Kind::packed_varint;
          break;
      }
    }
    return table;
  }

  std::array<const Table*, 3> roots_{};
  std::unordered_map<const pb::Descriptor*, Table*> by_descriptor_;
  std::vector<std::unique_ptr<Table>> storage_;
};

using Verdict = WireScan::Verdict;


class Scanner {
 public:
  Verdict scan(const std::uint8_t* p, const std::uint8_t* end, const Table& table, int depth) {
    while (p < end) {
      std::uint64_t tag;
      const std::uint8_t* tag_start = p;
      // protobuf reads a tag as a 32-bit varint of at most 5 bytes: a longer one (padded with
      // 0x80 bytes) is corrupt to it, whatever its value (found by fuzz/fuzz_wire_scan.cpp).
      if (!read_varint(p, end, &tag) || tag > 0xffffffffULL || p - tag_start > 5) return Verdict::invalid;
      const std::uint64_t number = tag >> 3;
      const auto wire_type = static_cast<int>(tag & 7);
      if (number == 0) return Verdict::invalid;
      const FieldRule* rule = number < kMaxFieldNumber ? &table.fields[number] : nullptr;
      switch (wire_type) {
        case 0: {  // varint
          std::uint64_t v;
          if (!read_varint(p, end, &v)) return Verdict::invalid;
          break;
        }
        case 1:  // 64-bit
          if (end - p < 8) return Verdict::invalid;
          p += 8;
          break;
        case 5:  // 32-bit
          if (end - p < 4) return Verdict::invalid;
          p += 4;
          break;
        case 2: {  // length-delimited
          std::uint64_t length;
          if (!read_varint(p, end, &length) || length > static_cast<std::uint64_t>(end - p) ||
              length > 0x7fffffffULL) {
            return Verdict::invalid;
          }
          const std::uint8_t* field_end = p + length;
          if (rule) {
            if (rule->counts_items) ++items;
            switch (rule->kind) {
              case FieldRule::Kind::message: {
                if (depth + 1 > kMaxDepth) return Verdict::invalid;  // protobuf takes 100 levels, not 101
                if (Verdict v = scan(p, field_end, *rule->table, depth + 1); v != Verdict::valid) return v;
                break;
              }
              case FieldRule::Kind::utf8:
                if (!pb::internal::IsStructurallyValidUTF8(reinterpret_cast<const char*>(p), static_cast<int>(length))) {
                  return Verdict::invalid;
                }
                break;
              case FieldRule::Kind::id:
                if (length != 0 && length != rule->id_length) return Verdict::invalid;
                break;
              case FieldRule::Kind::packed_fixed:
                if (length % rule->width != 0) return Verdict::invalid;
                break;
              case FieldRule::Kind::packed_varint:
                for (const std::uint8_t* q = p; q < field_end;) {
                  std::uint64_t v;
                  if (!read_varint(q, field_end, &v)) return Verdict::invalid;
                }
                break;
              case FieldRule::Kind::skip:
                break;
            }
          }
          p = field_end;
          break;
        }
        case 3:  // groups: not used by OTLP; let protobuf decide
          return Verdict::unsure;
        default:  // end group without a start, or wire types 6 and 7
          return Verdict::invalid;
      }
    }
    return Verdict::valid;
  }

  std::size_t items = 0;
};

}  // namespace

WireScan scan_request(Signal signal, const std::uint8_t* data, std::size_t size) noexcept {
  WireScan result;
  if (size > 0x7fffffffULL) return result;
  Scanner scanner;
  result.verdict = scanner.scan(data, data + size, *Tables::get().root(signal), 0);
  result.items = scanner.items;
  return result;
}

}  // namespace otlpd
