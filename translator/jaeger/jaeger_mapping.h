#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "jaeger_types.h"
#include "otlp/request.h"

// The OpenTelemetry-to-Jaeger mapping, shared by the jaeger exporter (thrift_http) and the
// trace store's Jaeger query API: one jaeger.thrift Batch per ResourceSpans.
// service.name -> Process.serviceName (other resource attributes -> process tags); trace id
// bytes 0-7 -> traceIdHigh, 8-15 -> traceIdLow (big-endian); parent -> parentSpanId and a
// CHILD_OF reference; links -> FOLLOWS_FROM; span.kind, otel.status_code / error /
// otel.status_description, otel.scope.name / version, w3c.tracestate tags; events -> logs
// (field "event" = name); arrays and maps -> JSON strings; nanoseconds -> microseconds.
namespace otlpd::jaeger {

std::vector<jaegertracing::thrift::Batch> to_batches(const otlp::TracesRequest& request);
// The same mapping for one span (in its scope) and for one resource.
jaegertracing::thrift::Span to_span(const opentelemetry::proto::trace::v1::Span& span,
                                    const opentelemetry::proto::common::v1::InstrumentationScope& scope);
jaegertracing::thrift::Process to_process(const opentelemetry::proto::resource::v1::Resource& resource);

// Jaeger's signed 64-bit id from big-endian bytes (8 of a span id, or either half of a trace id).
// Inline: the trace store calls it for every span it indexes.
// Any other length: its last 8 bytes, zero-extended when shorter (the loop below).
inline std::int64_t big_endian_i64(std::string_view bytes) {
  std::uint64_t v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    if (bytes.size() == 8) {  // every valid id: one load and a byte swap (the loop was a fifth of the store's read)
      std::memcpy(&v, bytes.data(), 8);
      return static_cast<std::int64_t>(__builtin_bswap64(v));
    }
  }
  for (char c : bytes) v = (v << 8) | static_cast<unsigned char>(c);
  return static_cast<std::int64_t>(v);
}

// The binary-protocol encoding (libthrift) is in the module jaeger_thrift_encoder: jaeger_thrift_module.h.

}  // namespace otlpd::jaeger
