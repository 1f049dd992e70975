#include "exporters/otlp/grpc_client.h"

namespace otlpd {

ConfigProblems grpc_client_missing() {
  std::string why = module_missing(GrpcClientModule::kModule);
  if (why.empty()) return {};
  return {{"", "a gRPC exporter " + why}};
}

const GrpcClientModule* load_grpc_client(std::string* error) {
  const GrpcClientModule* module = load_module_api<GrpcClientModule>(error);
  if (module == nullptr) *error = "the gRPC client: " + *error;
  return module;
}

}  // namespace otlpd
