#pragma once

#include <memory>

#include "pipeline/component.h"
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

  const ReceiverCounters& counters() const { return counters_; }
  int grpc_port() const { return grpc_ ? grpc_->bound_port() : 0; }
  int http_port() const { return http_ ? http_->bound_port() : 0; }

 private:
  CreateSettings settings_;
  ReceiverCounters counters_;
  std::unique_ptr<OtlpGrpcServer> grpc_;
  std::unique_ptr<OtlpHttpServer> http_;
  bool stopped_ = false;
};

class OtlpReceiverFactory final : public ReceiverFactory {
 public:
  std::string_view type() const override { return "otlp"; }
  std::unique_ptr<ComponentConfig> parse_config(ConfigNode& node) const override {
    return OtlpReceiverConfig::parse(node);
  }
  std::unique_ptr<Receiver> create(const CreateSettings& settings, const ComponentConfig& config,
                                   const SignalConsumers& consumers) const override {
    return std::make_unique<OtlpReceiver>(settings, static_cast<const OtlpReceiverConfig&>(config),
                                          consumers);
  }
};

}  // namespace otlpd
