// otlpd: a lightweight OpenTelemetry collector. This file holds the CLI, the explicit list
// of component factories and the signal loop; everything else lives in its own folder.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <iostream>
#include <random>
#include <thread>

#include "app/default_config.h"
#include "app/factories.h"
#include "app/service.h"
#include "app/systemd_notify.h"
#include "config/config_loader.h"
#include "selftelemetry/process_metrics.h"

#ifndef OTLPD_VERSION
#define OTLPD_VERSION "0.0.0"
#endif

namespace otlpd {
namespace {

std::shared_ptr<spdlog::sinks::sink> make_log_sink() {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      "%Y-%m-%dT%H:%M:%S.%eZ\t%l\t%n\t%v", spdlog::pattern_time_type::utc));
  return sink;
}

// Raises the soft limit on open files to the hard one, as Go's runtime does for otelcol: every
// connection is a descriptor, and systemd's default soft limit (1024) is easily reached.
void raise_open_files_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur >= limit.rlim_max) {
    spdlog::info("open files limit: {} (soft = hard)", limit.rlim_cur);
    return;
  }
  const rlim_t soft = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
    spdlog::info("open files limit: raised the soft limit from {} to the hard limit {}", soft, limit.rlim_max);
  } else {
    spdlog::warn("open files limit: soft {}, hard {}; cannot raise the soft limit: {}", soft, limit.rlim_max,
                 std::strerror(errno));
  }
}

// A random (version 4) UUID: this run's service.instance.id, as otelcol makes one per start.
std::string random_uuid() {
  std::random_device random;
  std::array<unsigned char, 16> b{};
  for (auto& byte : b) byte = static_cast<unsigned char>(random());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  return fmt::format("{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                     b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

// Loads and validates the configuration into a graph (nothing is created); prints every error
// and returns nullopt on failure.
std::optional<ServiceGraph> load_graph(const ConfigSources& sources, const Factories& factories,
                                       std::string* why = nullptr) {
  ConfigSources effective = sources;
  if (effective.files.empty()) effective.files.push_back(std::string("yaml:") + kDefaultConfig);
  std::string error;
  auto yaml = load_config(effective, process_environment(), &error);
  if (!yaml) {
    spdlog::error("invalid configuration: {}", error);
    if (why) *why = "invalid configuration: " + error;
    return std::nullopt;
  }
  ConfigErrors errors;
  std::optional<ServiceGraph> graph = ServiceGraph::from_config(*yaml, factories, &errors);
  if (!graph) {
    spdlog::error("invalid configuration ({} error{}):\n  {}", errors.all().size(),
                  errors.all().size() == 1 ? "" : "s", fmt::join(errors.all(), "\n  "));
    if (why) *why = "invalid configuration: " + errors.joined();
  }
  return graph;
}

// load_graph(), then the graph's components created (not started); nullptr on failure.
std::unique_ptr<Service> load_service(const ConfigSources& sources, const Factories& factories,
                                      const std::shared_ptr<spdlog::sinks::sink>& sink,
                                      const std::shared_ptr<SelfTelemetry>& telemetry, std::string* why = nullptr,
                                      Service* previous = nullptr) {
  std::optional<ServiceGraph> graph = load_graph(sources, factories, why);
  if (!graph) return nullptr;
  return Service::create(std::move(*graph), sink, telemetry, previous);
}

// `signals` (SIGINT, SIGTERM, SIGHUP) are blocked in every thread; run() takes them with sigwait.
int run(const ConfigSources& sources, const Factories& factories,
        const std::shared_ptr<spdlog::sinks::sink>& sink, const sigset_t& signals) {
  raise_open_files_limit();
  // Self-telemetry lives as long as the process: counters keep counting across reloads.
  auto telemetry = std::make_shared<SelfTelemetry>();
  const auto process_metrics = observe_process(telemetry->metrics);
  telemetry->metrics.set_target_info(
      {{"service.instance.id", random_uuid()}, {"service.name", "otlpd"}, {"service.version", OTLPD_VERSION}});
  auto service = load_service(sources, factories, sink, telemetry);
  if (!service) return 1;
  spdlog::set_level(service->log_level());
  if (sources.files.empty()) spdlog::info("no --config given: running the embedded default configuration");
  std::string error;
  if (!service->start(&error)) {
    spdlog::error("cannot start: {}", error);
    return 1;
  }
  telemetry->status.set_state(StatusRegistry::State::running);
  // systemd (Type=notify): ready once every receiver listens. A no-op without NOTIFY_SOCKET.
  notify_systemd("READY=1\nSTATUS=running");
  spdlog::info("otlpd {} started", OTLPD_VERSION);
  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig != SIGHUP) {
      spdlog::info("received {}, stopping receivers and draining pipelines", strsignal(sig));
      telemetry->status.set_state(StatusRegistry::State::stopping);
      notify_systemd("STOPPING=1");
      service->shutdown();
      spdlog::info("stopped");
      return 0;
    }
    spdlog::info("received SIGHUP, reloading the configuration");
    notify_systemd("RELOADING=1");
    std::string why;
    // Exporters configured as before are taken over running, with their queues and open files.
    auto next = load_service(sources, factories, sink, telemetry, &why, service.get());
    if (!next) {
      spdlog::error("reload failed, keeping the running configuration");
      // health_check answers 503 until a reload succeeds: the running config is not the file's.
      telemetry->status.set_state(StatusRegistry::State::reload_failed, "the last reload failed: " + why);
      notify_systemd("READY=1\nSTATUS=reload failed, running the previous configuration");
      continue;
    }
    telemetry->status.set_state(StatusRegistry::State::starting, "reloading");
    service->shutdown();  // drain the old pipelines before the new ones bind the same ports
    if (!next->start(&error)) {
      spdlog::error("cannot start the reloaded configuration: {}", error);
      return 1;
    }
    service = std::move(next);
    spdlog::set_level(service->log_level());
    telemetry->status.set_state(StatusRegistry::State::running);
    notify_systemd("READY=1\nSTATUS=running");
    const std::vector<std::string> kept = service->adopted_exporters();
    spdlog::info("configuration reloaded{}{}", kept.empty() ? "" : "; kept running (configured as before): ",
                 fmt::join(kept, ", "));
  }
}

}  // namespace
}  // namespace otlpd

int main(int argc, char** argv) {
  using namespace otlpd;
  // A closed stdout must not kill us (console exporter), nor a file over RLIMIT_FSIZE (file
  // exporter): both become write errors that are reported and counted.
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGXFSZ, SIG_IGN);

  auto sink = make_log_sink();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("otlpd", sink));

  CLI::App app{"otlpd: a lightweight OpenTelemetry collector (OTLP in; console, file, debug out)", "otlpd"};
  app.set_version_flag("--version", std::string("otlpd ") + OTLPD_VERSION);
  ConfigSources sources;
  app.add_option("--config", sources.files,
                 "Configuration file (repeatable; later files are merged over earlier ones; "
                 "'yaml:<inline>' is accepted). Without it, an embedded default runs.");
  app.add_option("--set", sources.set_overrides,
                 "Override one value, e.g. --set=exporters::file::path=/tmp/out.jsonl (repeatable)");
  auto* validate = app.add_subcommand("validate", "Check the configuration and exit (0 when valid)");
  auto* components = app.add_subcommand("components", "List the component types this build knows");
  validate->fallthrough();
  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);

  const Factories factories = make_factories();
  if (components->parsed()) {
    auto list = [](std::string_view kind, const auto& fs) {
      std::cout << kind << ":\n";
      for (const auto& f : fs) {
        std::cout << "  - " << f->type();
        for (auto alias : f->aliases()) std::cout << " (alias " << alias << ")";
        std::cout << "\n";
      }
      if (fs.empty()) std::cout << "  []\n";
    };
    std::cout << "buildinfo:\n  command: otlpd\n  version: " << OTLPD_VERSION << "\n";
    list("receivers", factories.receivers);
    list("processors", factories.processors);
    list("exporters", factories.exporters);
    list("extensions", factories.extensions);
    return 0;
  }
  if (validate->parsed()) {
    if (!load_graph(sources, factories)) return 1;
    std::cout << "configuration is valid\n";
    return 0;
  }
  // Signals are taken synchronously by run(); they are blocked before any thread starts, so
  // that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // The service runs on a thread of its own, so that the main thread, which runs the exit
  // handlers, never touched a loaded module's thread-local storage: Debian 12's
  // LeakSanitizer (GCC 12) misreads a dlopen()ed library's TLS block that lies 16 bytes into
  // a page and crashed at exit (a third of the runs that used the gRPC client module).
  int code = 1;
  std::thread([&] { code = run(sources, factories, sink, signals); }).join();
  return code;
}
