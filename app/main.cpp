// otlpd: a lightweight OpenTelemetry collector. This file holds the CLI, the explicit list
// of component factories and the signal loop; everything else lives in its own folder.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "app/default_config.h"
#include "app/factories.h"
#include "app/service.h"
#include "config/config_loader.h"

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

// Loads and validates the configuration; prints every error and returns nullptr on failure.
std::unique_ptr<Service> load_service(const ConfigSources& sources, const Factories& factories,
                                      const std::shared_ptr<spdlog::sinks::sink>& sink) {
  ConfigSources effective = sources;
  if (effective.files.empty()) effective.files.push_back(std::string("yaml:") + kDefaultConfig);
  std::string error;
  auto yaml = load_config(effective, process_environment(), &error);
  if (!yaml) {
    spdlog::error("invalid configuration: {}", error);
    return nullptr;
  }
  ConfigErrors errors;
  auto service = Service::build(*yaml, factories, sink, &errors);
  if (!service) {
    spdlog::error("invalid configuration ({} error{}):\n  {}", errors.all().size(),
                  errors.all().size() == 1 ? "" : "s", fmt::join(errors.all(), "\n  "));
  }
  return service;
}

int run(const ConfigSources& sources, const Factories& factories,
        const std::shared_ptr<spdlog::sinks::sink>& sink) {
  // Signals are taken synchronously by this thread; block them before any thread starts so
  // that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto service = load_service(sources, factories, sink);
  if (!service) return 1;
  spdlog::set_level(service->log_level());
  if (sources.files.empty()) spdlog::info("no --config given: running the embedded default configuration");
  std::string error;
  if (!service->start(&error)) {
    spdlog::error("cannot start: {}", error);
    return 1;
  }
  spdlog::info("otlpd {} started", OTLPD_VERSION);
  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig != SIGHUP) {
      spdlog::info("received {}, stopping receivers and draining pipelines", strsignal(sig));
      service->shutdown();
      spdlog::info("stopped");
      return 0;
    }
    spdlog::info("received SIGHUP, reloading the configuration");
    auto next = load_service(sources, factories, sink);
    if (!next) {
      spdlog::error("reload failed, keeping the running configuration");
      continue;
    }
    service->shutdown();  // drain the old pipelines before the new ones bind the same ports
    if (!next->start(&error)) {
      spdlog::error("cannot start the reloaded configuration: {}", error);
      return 1;
    }
    service = std::move(next);
    spdlog::set_level(service->log_level());
    spdlog::info("configuration reloaded");
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
    std::cout << "extensions:\n  []\n";
    return 0;
  }
  if (validate->parsed()) {
    auto service = load_service(sources, factories, sink);
    if (!service) return 1;
    std::cout << "configuration is valid\n";
    return 0;
  }
  return run(sources, factories, sink);
}
