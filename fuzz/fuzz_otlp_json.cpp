// libFuzzer target: the OTLP/JSON decoder (the body of an OTLP/HTTP application/json request).
// Whatever the input, decoding must not crash or leak, and a request it accepts must be valid
// protobuf that survives a round trip: JSON -> wire -> OTLP/JSON (transcoder) -> wire again.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "otlp/json_transcoder.h"
#include "otlp/json_decoder.h"

using namespace otlpd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Signal signal = static_cast<Signal>(data[0] % 3);
  const std::string_view json(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string error;
  RequestPtr request = decode_otlp_json(signal, json, &error);
  if (!request) {
    if (error.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  const std::string canonical = request->message().SerializeAsString();
  std::string again;
  if (!transcode_otlp_json(again, signal, reinterpret_cast<const std::uint8_t*>(canonical.data()), canonical.size())) {
    std::abort();  // the transcoder refused what the decoder produced
  }
  RequestPtr round_trip = decode_otlp_json(signal, again, &error);
  if (!round_trip || round_trip->message().SerializeAsString() != canonical) std::abort();
  return 0;
}
