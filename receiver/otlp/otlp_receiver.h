#pragma once

#include <memory>

#include "pipeline/typed_factory.h"
#include "receiver/otlp/otlp_grpc_server.h"
#include "receiver/otlp/otlp_http_server.h"
#include "receiver/otlp/otlp_receiver_config.h"

namespace otlpd {

// receivers::otlp. One instance serves every pipeline that names it.
class OtlpReceiver final : public Receiver {
 public:
  OtlpReceiver(const CreateSettings& settings, const OtlpReceiverConfig& config,
               const SignalConsumers& consumers);
  ~OtlpReceiver() override;

  bool start(std::string* error) override;
  void shutdown() noexcept override;

  const ReceiverCounters& grpc_counters() const { return grpc_counters_; }
  int grpc_port() const { return grpc_ ? grpc_->bound_port() : 0; }
  int http_port() const { return http_ ? http_->bound_port() : 0; }

 private:
  // Per signal: accepted, refused, refused requests, malformed requests, over both transports.
  std::array<std::array<std::uint64_t, 4>, 3> totals() const;

  CreateSettings settings_;
  ReceiverCounters grpc_counters_, http_counters_;  // in the process's registry
  // The counters' values when this instance was built: its shutdown log reports its own share.
  std::array<std::array<std::uint64_t, 4>, 3> baseline_{};
  std::unique_ptr<OtlpGrpcServer> grpc_;
  std::unique_ptr<OtlpHttpServer> http_;
  bool stopped_ = false;
};

class OtlpReceiverFactory final : public TypedReceiverFactory<OtlpReceiverConfig> {
 public:
  std::string_view type() const override { return "otlp"; }
  OtlpReceiverConfig parse(ConfigNode& node) const override { return OtlpReceiverConfig::parse(node); }
  std::unique_ptr<Receiver> make(const CreateSettings& settings, const OtlpReceiverConfig& config,
                                 const SignalConsumers& consumers) const override {
    return std::make_unique<OtlpReceiver>(settings, config, consumers);
  }
};

}  // namespace otlpd
