#include "receiver/otlp/otlp_receiver.h"

#include <algorithm>
#include <mutex>

namespace otlpd {
namespace {

// The signals a transport serves: those with a pipeline, if the transport is configured.
std::array<bool, 3> served(bool configured, const SignalConsumers& consumers) {
  std::array<bool, 3> out{};
  for (std::size_t i = 0; i < 3; ++i) out[i] = configured && consumers[i] != nullptr;
  return out;
}

}  // namespace

OtlpReceiver::OtlpReceiver(const CreateSettings& settings, const OtlpReceiverConfig& config,
                           const SignalConsumers& consumers)
    : settings_(settings),
      grpc_counters_(settings.telemetry->metrics, settings.id.str(), "grpc", served(config.grpc.has_value(), consumers)),
      http_counters_(settings.telemetry->metrics, settings.id.str(), "http", served(config.http.has_value(), consumers)) {
  grpc_counters_.request_memory = settings.telemetry->request_memory;
  http_counters_.request_memory = settings.telemetry->request_memory;
  baseline_ = totals();
  // A receiver that cannot accept connections (out of descriptors) is down for new clients:
  // health_check answers 503 naming it until every endpoint accepts again. Reported as a
  // permanent error, which health_check shows at once (a recoverable one only after its
  // recovery_duration), and cleared on recovery.
  struct AcceptFailures {
    std::mutex mutex;
    std::array<std::string, 2> why;  // gRPC's and HTTP's, empty while accepting
  };
  auto failures = std::make_shared<AcceptFailures>();
  auto on_accept_state = [status = settings.status, failures](std::size_t server) {
    return [status, failures, server](bool accepting, const std::string& why) {
      std::lock_guard lock(failures->mutex);  // the report follows the state, whichever thread is last
      failures->why[server] = accepting ? std::string() : why;
      const auto failing = std::find_if(failures->why.begin(), failures->why.end(),
                                        [](const std::string& w) { return !w.empty(); });
      if (failing != failures->why.end()) {
        status->permanent_error(*failing);
      } else {
        status->ok();
      }
    };
  };
  // A size limit larger than what a pipeline behind the receiver can ever take: such requests
  // are refused for good (RESOURCE_EXHAUSTED, 413). Said at start, not found out in production.
  for (Signal s : kAllSignals) {
    const Consumer* consumer = consumers[static_cast<std::size_t>(s)];
    if (!consumer) continue;
    if (config.grpc) {
      const auto limit = static_cast<std::size_t>(config.grpc->max_recv_msg_size_mib) << 20;
      if (std::string why = consumer->never_fits(s, limit); !why.empty()) {
        settings.logger->warn("protocols::grpc::max_recv_msg_size_mib ({} MiB) admits {} requests that the pipeline "
                              "can never take, and that will get RESOURCE_EXHAUSTED: {}",
                              config.grpc->max_recv_msg_size_mib, to_string(s), why);
      }
    }
    if (config.http) {
      if (std::string why = consumer->never_fits(s, static_cast<std::size_t>(config.http->max_request_body_size)); !why.empty()) {
        settings.logger->warn("protocols::http::max_request_body_size ({} bytes) admits {} requests that the pipeline "
                              "can never take, and that will get 413: {}",
                              config.http->max_request_body_size, to_string(s), why);
      }
    }
  }
  if (config.grpc) {
    grpc_ = std::make_unique<OtlpGrpcServer>(*config.grpc, consumers, &grpc_counters_, settings.logger);
    grpc_->on_accept_state(on_accept_state(0));
  }
  if (config.http) {
    http_ = std::make_unique<OtlpHttpServer>(*config.http, consumers, &http_counters_, settings.logger, on_accept_state(1));
  }
}

std::array<std::array<std::uint64_t, 4>, 3> OtlpReceiver::totals() const {
  std::array<std::array<std::uint64_t, 4>, 3> out{};
  for (std::size_t i = 0; i < 3; ++i) {
    for (const ReceiverCounters* c : {&grpc_counters_, &http_counters_}) {
      out[i][0] += c->accepted[i]->value();
      out[i][1] += c->refused[i]->value();
      out[i][2] += c->refused_requests[i]->value();
      out[i][3] += c->malformed_requests[i]->value();
    }
  }
  return out;
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
  const auto now = totals();
  for (Signal s : kAllSignals) {
    const auto i = static_cast<std::size_t>(s);
    const auto accepted = now[i][0] - baseline_[i][0];
    const auto refused = now[i][1] - baseline_[i][1];
    const auto refused_requests = now[i][2] - baseline_[i][2];
    const auto malformed = now[i][3] - baseline_[i][3];
    if (accepted || refused || refused_requests || malformed) {
      settings_.logger->info("{}: accepted {} {}, refused {}; refused {} requests before decoding, "
                             "rejected {} malformed requests",
                             to_string(s), accepted, item_name(s), refused, refused_requests, malformed);
    }
  }
}

}  // namespace otlpd
