#include "exporters/common/http_client.h"

namespace otlpd {

HttpTlsConfig HttpTlsConfig::parse(ConfigNode& exporter) {
  HttpTlsConfig c;
  ConfigNode tls = exporter.child("tls");
  tls.get_bool("insecure", false);
  c.ca_file = tls.get_string("ca_file", "");
  c.cert_file = tls.get_string("cert_file", "");
  c.key_file = tls.get_string("key_file", "");
  c.insecure_skip_verify = tls.get_bool("insecure_skip_verify", false);
  tls.finish();
  return c;
}

ConfigProblems HttpTlsConfig::validate() const {
  ConfigProblems problems;
  if (cert_file.empty() != key_file.empty()) problems.push_back({"cert_file", "cert_file and key_file go together"});
  return problems;
}

ConfigProblems http_client_missing() {
  std::string why = module_missing(HttpClientModule::kModule);
  if (why.empty()) return {};
  return {{"", "an HTTP exporter " + why}};
}

const HttpClientModule* load_http_client(std::string* error) {
  const HttpClientModule* module = load_module_api<HttpClientModule>(error);
  if (module == nullptr) *error = "the HTTP client: " + *error;
  return module;
}

}  // namespace otlpd
