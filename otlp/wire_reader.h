#pragma once

#include <cstdint>

namespace otlpd {

// Reads a protobuf varint of at most 10 bytes at p (advancing p); false if it is truncated
// or encodes more than 64 bits. Shared by the wire scan and the OTLP/JSON transcoder.
inline bool read_varint(const std::uint8_t*& p, const std::uint8_t* end, std::uint64_t* value) {
  std::uint64_t result = 0;
  for (int shift = 0; shift < 70 && p < end; shift += 7) {
    const std::uint8_t byte = *p++;
    if (shift == 63 && byte > 1) return false;
    result |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *value = result;
      return true;
    }
  }
  return false;
}

}  // namespace otlpd
