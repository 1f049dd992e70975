#pragma once

#include <string>
#include <string_view>

namespace otlpd {

// otlpd's pieces that need large libraries only some configurations use (libcurl for the
// HTTP exporters, libthrift for jaeger.thrift) are loadable modules: shared objects installed
// in <libdir>/otlpd/ (the build tree has the same layout: <build>/lib/otlpd/), found relative to
// the running executable (/proc/self/exe), and loaded by the component that needs them when it
// starts. A configuration without such a component never maps those libraries into the process.
//
// A module exports one C function, kModuleEntry, that returns its API: a standard-layout struct
// whose first member is a ModuleHeader. The API passes C++ types (std::string, ...), so a module
// is only accepted from the same otlpd version and API revision as the executable.
struct ModuleHeader {
  const char* otlpd_version;  // OTLPD_MODULE_VERSION when the module was built
  const char* api_name;       // the API struct it returns, e.g. "HttpClientModule"
  unsigned api_revision;      // bumped whenever that struct changes
};

inline constexpr const char* kModuleEntry = "otlpd_module_api";

// The directory modules are loaded from: <directory of the executable>/<bindir to libdir/otlpd>.
std::string module_directory();
// The path of module `name` (without ".so").
std::string module_path(std::string_view name);
// Empty when module `name` is installed; otherwise why not, as a configuration problem says it.
std::string module_missing(std::string_view name);

// Loads module `name` once per process (it is never unloaded; later calls return the same API)
// and checks its header. Null with *error on any failure (not installed, a library it needs is
// missing, another version of otlpd). Thread-safe.
const ModuleHeader* load_module(std::string_view name, std::string_view api_name, unsigned api_revision,
                                std::string* error);

// load_module() for an API struct Api with `static constexpr std::string_view kModule, kApiName`
// and `static constexpr unsigned kApiRevision`, its first member a ModuleHeader.
template <class Api>
const Api* load_module_api(std::string* error) {
  return reinterpret_cast<const Api*>(load_module(Api::kModule, Api::kApiName, Api::kApiRevision, error));
}

}  // namespace otlpd

// Defines a module's entry point, returning `api` (a static Api object).
#define OTLPD_MODULE_ENTRY(api)                                                                 \
  extern "C" __attribute__((visibility("default"))) const ::otlpd::ModuleHeader* otlpd_module_api() { \
    return &(api).header;                                                                       \
  }
