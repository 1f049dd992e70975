#include "modules/loadable_module.h"

#include <dlfcn.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

namespace otlpd {
namespace {

std::string executable_directory() {
  char buffer[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0) return ".";
  std::string path(buffer, static_cast<std::size_t>(n));
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

struct LoadedModule {
  const ModuleHeader* header = nullptr;
  std::string error;  // why it could not be loaded (kept: a failed load is not retried)
};

}  // namespace

std::string module_directory() {
  // /proc/self/exe is the resolved path, so dropping ".." lexically is exact.
  static const std::string directory =
      (std::filesystem::path(executable_directory()) / OTLPD_MODULE_DIR_FROM_BINDIR).lexically_normal().string();
  return directory;
}

std::string module_path(std::string_view name) { return fmt::format("{}/{}.so", module_directory(), name); }

std::string module_missing(std::string_view name) {
  const std::string path = module_path(name);
  if (::access(path.c_str(), R_OK) == 0) return "";
  return fmt::format("needs the module {}, which is not installed ({}; it is part of otlpd's installation)", path,
                     std::strerror(errno));
}

const ModuleHeader* load_module(std::string_view name, std::string_view api_name, unsigned api_revision,
                                std::string* error) {
  static std::mutex mutex;
  static std::map<std::string, LoadedModule, std::less<>> modules;
  std::lock_guard lock(mutex);
  auto it = modules.find(name);
  if (it == modules.end()) {
    LoadedModule loaded;
    const std::string path = module_path(name);
    // RTLD_LOCAL: the module's libraries do not resolve anybody else's symbols.
    if (void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      using Entry = const ModuleHeader* (*)();
      const auto entry = reinterpret_cast<Entry>(::dlsym(handle, kModuleEntry));
      const ModuleHeader* header = entry != nullptr ? entry() : nullptr;
      if (header == nullptr) {
        loaded.error = fmt::format("{} is not an otlpd module (no {})", path, kModuleEntry);
      } else if (std::string_view(header->otlpd_version) != OTLPD_MODULE_VERSION) {
        loaded.error = fmt::format("{} is from otlpd {}, this is otlpd {}", path, header->otlpd_version,
                                   OTLPD_MODULE_VERSION);
      } else {
        loaded.header = header;
      }
      // Never closed, even when refused: unloading libraries with global state (libcurl's
      // TLS backends) is not safe, and a refused module is not retried.
    } else {
      const char* why = ::dlerror();
      loaded.error = fmt::format("cannot load the module {}: {}", path, why != nullptr ? why : "unknown error");
    }
    it = modules.emplace(std::string(name), std::move(loaded)).first;
  }
  const LoadedModule& loaded = it->second;
  if (loaded.header == nullptr) {
    *error = loaded.error;
    return nullptr;
  }
  if (std::string_view(loaded.header->api_name) != api_name || loaded.header->api_revision != api_revision) {
    *error = fmt::format("the module {} has the API {} revision {}, otlpd expects {} revision {}", module_path(name),
                         loaded.header->api_name, loaded.header->api_revision, api_name, api_revision);
    return nullptr;
  }
  return loaded.header;
}

}  // namespace otlpd
