#include "receiver/otlp/otlp_receiver.h"

namespace otlpd {

OtlpReceiver::OtlpReceiver(const CreateSettings& settings, const OtlpReceiverConfig& config,
                           const SignalConsumers& consumers)
    : settings_(settings) {
  if (config.grpc) {
    grpc_ = std::make_unique<OtlpGrpcServer>(*config.grpc, consumers, &counters_, settings.logger);
  }
  if (config.http) {
    http_ = std::make_unique<OtlpHttpServer>(*config.http, consumers, &counters_, settings.logger);
  }
}

OtlpReceiver::~OtlpReceiver() { shutdown(); }

bool OtlpReceiver::start(std::string* error) {
  if (grpc_ && !grpc_->start(error)) return false;
  if (http_ && !http_->start(error)) {
    if (grpc_) grpc_->shutdown();
    return false;
  }
  return true;
}

void OtlpReceiver::shutdown() noexcept {
  if (stopped_) return;
  stopped_ = true;
  if (grpc_) grpc_->shutdown();
  if (http_) http_->shutdown();
  for (Signal s : kAllSignals) {
    const auto i = static_cast<std::size_t>(s);
    const auto accepted = counters_.accepted[i].load();
    const auto refused = counters_.refused[i].load();
    const auto refused_requests = counters_.refused_requests[i].load();
    const auto malformed = counters_.malformed_requests[i].load();
    if (accepted || refused || refused_requests || malformed) {
      settings_.logger->info("{}: accepted {} {}, refused {}; refused {} requests before decoding, "
                             "rejected {} malformed requests",
                             to_string(s), accepted, item_name(s), refused, refused_requests, malformed);
    }
  }
}

}  // namespace otlpd
