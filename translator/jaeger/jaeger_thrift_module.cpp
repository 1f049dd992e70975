// The module jaeger_thrift_encoder (see jaeger_thrift_module.h): built as a loadable module with
// libthrift, not into otlpd.
#include "translator/jaeger/jaeger_thrift_module.h"

#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/transport/TBufferTransports.h>

#include <exception>
#include <memory>

namespace otlpd::jaeger {
namespace {

bool serialize(const jaegertracing::thrift::Batch& batch, std::string* out, std::string* error) {
  try {
    auto buffer = std::make_shared<apache::thrift::transport::TMemoryBuffer>();
    apache::thrift::protocol::TBinaryProtocol protocol(buffer);
    batch.write(&protocol);
    *out = buffer->getBufferAsString();
    return true;
  } catch (const std::exception& e) {
    *error = std::string("jaeger.thrift encoding failed: ") + e.what();
    return false;
  }
}

const JaegerThriftModule kApi{
    {OTLPD_MODULE_VERSION, JaegerThriftModule::kApiName.data(), JaegerThriftModule::kApiRevision}, &serialize};

}  // namespace
}  // namespace otlpd::jaeger

OTLPD_MODULE_ENTRY(otlpd::jaeger::kApi)
