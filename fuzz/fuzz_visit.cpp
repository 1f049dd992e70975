// libFuzzer target: the wire-level visitor and rewriter (otlp/visit.h), on any request the wire
// scan calls valid (what Request::receive lets through). Byte 0 picks the signal and the edits;
// the rest is the request. Checked:
// - a visit sees as many items as the scan counted, and reads every attribute without a fault;
// - a rewrite without changes decodes (protobuf) to the same message as the input;
// - a rewrite with changes is still valid to the scan, with the same items, and a visit of it
//   sees the changes on every item (the attribute set, the one removed gone, the new name).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "otlp/request.h"
#include "otlp/visit.h"
#include "otlp/wire_scan.h"

using namespace otlpd;
namespace wire = otlp::wire;

namespace {

class FuzzEditor : public wire::Editor {
 public:
  explicit FuzzEditor(std::uint8_t choice) : choice_(choice) {}
  void resource(const wire::View&, wire::Edit& edit) override {
    if (choice_ & 4) edit.set_attribute("fuzz.resource", wire::Value::of_integer(7));
  }
  void scope(const wire::View&, const wire::View&, wire::Edit& edit) override {
    if (choice_ & 8) edit.remove_attribute("k");
  }
  void item(const wire::Item& item, wire::Edit& edit) override {
    edit.set_attribute("fuzz.item", wire::Value::of_string("set"));
    if (choice_ & 16) edit.remove_attribute("k");
    if ((choice_ & 32) && item.item.type()->find("name")) edit.set_string("name", "fuzzed");
  }

 private:
  std::uint8_t choice_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto signal = static_cast<Signal>(data[0] % 3);
  const std::size_t n = size - 1;
  auto copy = std::make_unique<std::uint8_t[]>(std::max<std::size_t>(n, 1));  // ASan sees reads past the end
  if (n > 0) std::memcpy(copy.get(), data + 1, n);
  const WireScan scan = scan_request(signal, copy.get(), n);
  if (scan.verdict != WireScan::Verdict::valid) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(copy.get()), n);

  std::size_t items = 0, attributes = 0;
  wire::visit(signal, bytes, [&](const wire::Item& item) {
    ++items;
    for (const wire::View* v : {&item.resource, &item.scope, &item.metric, &item.item}) {
      v->attributes([&](std::string_view, const wire::Value&) { ++attributes; });
      (void)v->string("name");
    }
  });
  if (items != scan.items) std::abort();

  auto original = new_request_message(signal);
  if (!original->ParseFromArray(copy.get(), static_cast<int>(n))) std::abort();  // the scan said valid

  wire::Editor nothing;
  std::string same;
  wire::rewrite(signal, bytes, nothing, &same);
  auto again = new_request_message(signal);
  if (!again->ParseFromString(same)) std::abort();
  // Compared as protobuf encodes them (bit for bit: a NaN equals itself).
  if (original->SerializeAsString() != again->SerializeAsString()) std::abort();

  FuzzEditor editor(data[0]);
  std::string changed;
  wire::rewrite(signal, bytes, editor, &changed);
  const WireScan rescan = scan_request(signal, reinterpret_cast<const std::uint8_t*>(changed.data()), changed.size());
  if (rescan.verdict != WireScan::Verdict::valid || rescan.items != scan.items) std::abort();
  std::size_t seen = 0;
  wire::visit(signal, changed, [&](const wire::Item& item) {
    ++seen;
    const auto set = item.item.attribute("fuzz.item");
    if (!set || set->kind != wire::Value::Kind::string || set->text != "set") std::abort();
    if ((data[0] & 16) && item.item.attribute("k")) std::abort();
    if ((data[0] & 32) && item.item.type()->find("name") && item.item.string("name") != "fuzzed") std::abort();
    if (data[0] & 4) {
      const auto r = item.resource.attribute("fuzz.resource");
      if (!r || r->integer != 7) std::abort();
    }
    if ((data[0] & 8) && item.scope.attribute("k")) std::abort();
  });
  if (seen != scan.items) std::abort();
  return 0;
}
