// libFuzzer target: the protobuf wire scan (otlp/wire_scan.h) that admits an
// Export*ServiceRequest without decoding it. Byte 0 picks the signal; the rest is the request.
// The scan promises to be at least as strict as protobuf's parser, so checked against protobuf:
// - a request it calls valid parses, with ids of valid lengths, into as many items as it counted
//   (for metrics at most as many: protobuf keeps only the last member of a metric's data oneof);
// - whatever the verdict, what protobuf accepts (with valid ids), encoded again by protobuf,
//   is not called invalid: the scan is not stricter than protobuf on protobuf's own encoding;
// - Request::receive() agrees: it accepts exactly what protobuf accepts with valid ids (but
//   refuses an id given twice whose first value has a wrong length);
// - the slow path (explain_request) reaches the fast path's verdict, and names every refusal.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fuzz/id_oracle.h"
#include "otlp/request.h"
#include "otlp/wire_scan.h"

using namespace otlpd;

namespace {

bool counts_agree(Signal signal, std::size_t scanned, std::size_t decoded) {
  return signal == Signal::metrics ? decoded <= scanned : decoded == scanned;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto signal = static_cast<Signal>(data[0] % 3);
  // A block of exactly the request's size, so that ASan sees any read past its end.
  const std::size_t n = size - 1;
  auto copy = std::make_unique<std::uint8_t[]>(std::max<std::size_t>(n, 1));
  if (n > 0) std::memcpy(copy.get(), data + 1, n);

  const WireScan scan = scan_request(signal, copy.get(), n);
  auto message = new_request_message(signal);
  const bool parsed = message->ParseFromArray(copy.get(), static_cast<int>(n));
  const bool ids_ok = parsed && oracle::validate_ids(signal, *message).empty();
  switch (scan.verdict) {
    case WireScan::Verdict::valid:
      if (!parsed || !ids_ok) std::abort();  // the scan accepted what protobuf (or the id check) rejects
      if (!counts_agree(signal, scan.items, count_items(signal, *message))) std::abort();
      break;
    case WireScan::Verdict::invalid:
    case WireScan::Verdict::unsure:
      break;
  }

  // The slow walk agrees with the fast one (it steps over groups, which the fast one leaves to
  // protobuf), and says why it refuses.
  const WireScan explained = explain_request(signal, copy.get(), n);
  if (scan.verdict != WireScan::Verdict::unsure && explained.verdict != scan.verdict) std::abort();
  if (explained.verdict == WireScan::Verdict::valid && explained.items != scan.items &&
      scan.verdict == WireScan::Verdict::valid) {
    std::abort();
  }
  if (explained.verdict == WireScan::Verdict::invalid && explained.error.empty()) std::abort();
  if (explained.verdict == WireScan::Verdict::valid && parsed && !ids_ok) std::abort();  // an id missed

  // What otlpd's receive path makes of it.
  std::string error;
  const RequestPtr request = Request::receive(signal, WireBytes{copy.get(), n, nullptr}, &error);
  // One exception, by design: an id field given twice, the first time with a wrong length:
  // protobuf keeps the last value, otlpd refuses any id of the wrong length.
  const bool refused_an_id = !request && error.find(": must be ") != std::string::npos;
  if (request && !ids_ok) std::abort();
  if (!request && ids_ok && !refused_an_id) std::abort();
  if (!request && error.empty()) std::abort();  // a refusal says why
  if (request && !counts_agree(signal, request->item_count(), count_items(signal, request->message()))) std::abort();

  if (ids_ok) {
    // Protobuf's own encoding of what it accepted.
    const std::string canonical = message->SerializeAsString();
    const WireScan again = scan_request(signal, reinterpret_cast<const std::uint8_t*>(canonical.data()), canonical.size());
    // (Found here: the scan refused a message nested exactly 100 deep, which protobuf's
    // recursion limit still takes; fixed in wire_scan.cpp.)
    if (again.verdict == WireScan::Verdict::invalid) std::abort();
    // One member per oneof there: the counts are equal for every signal.
    if (again.verdict == WireScan::Verdict::valid && again.items != count_items(signal, *message)) std::abort();
  }
  return 0;
}
