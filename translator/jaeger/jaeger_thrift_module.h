#pragma once

#include <string>
#include <string_view>

#include "jaeger_types.h"
#include "modules/loadable_module.h"

namespace otlpd::jaeger {

// jaeger.thrift's binary encoding, with libthrift, in the module jaeger_thrift_encoder
// (modules/loadable_module.h): the jaeger exporter loads it when it starts with protocol
// thrift_http, so that no other configuration maps libthrift. (The generated jaeger_types
// themselves need nothing from libthrift: the trace store uses them without it.)
struct JaegerThriftModule {
  static constexpr std::string_view kModule = "jaeger_thrift_encoder";
  static constexpr std::string_view kApiName = "JaegerThriftModule";
  static constexpr unsigned kApiRevision = 1;

  ModuleHeader header;
  // The binary-protocol encoding of a Batch, as POST /api/traces expects it, into *out;
  // false with *error.
  bool (*serialize)(const jaegertracing::thrift::Batch& batch, std::string* out, std::string* error);
};

}  // namespace otlpd::jaeger
