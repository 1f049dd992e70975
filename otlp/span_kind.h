#pragma once

#include <cstdint>
#include <string_view>

namespace otlpd {

// The names of OTLP's span kinds (Span.kind: 0 unspecified, 1 internal, 2 server, 3 client,
// 4 producer, 5 consumer), in the one table every component prints them from.
struct SpanKindNames {
  std::string_view lower;   // "server": Jaeger's span.kind tag and query API
  std::string_view title;   // "Server": otelcol's debug exporter
  std::string_view python;  // "SpanKind.SERVER": the Python SDK's console exporter
};

inline constexpr SpanKindNames kSpanKindNames[] = {
    {"", "Unspecified", "SpanKind.INTERNAL"},  // the Python SDK has no unspecified kind
    {"internal", "Internal", "SpanKind.INTERNAL"},
    {"server", "Server", "SpanKind.SERVER"},
    {"client", "Client", "SpanKind.CLIENT"},
    {"producer", "Producer", "SpanKind.PRODUCER"},
    {"consumer", "Consumer", "SpanKind.CONSUMER"},
};

// The names of a kind; a kind OTLP does not define is named as unspecified.
constexpr const SpanKindNames& span_kind_names(std::int64_t kind) {
  return kind >= 1 && kind <= 5 ? kSpanKindNames[kind] : kSpanKindNames[0];
}

}  // namespace otlpd
