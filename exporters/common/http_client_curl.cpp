// The module http_curl: the HTTP client of the HTTP exporters, with libcurl (see
// HttpClientModule in http_client.h). Built as a loadable module, not into otlpd.
#include "exporters/common/http_client.h"

#include <algorithm>
#include <charconv>

#include <curl/curl.h>

#include <cctype>
#include <memory>
#include <mutex>

namespace otlpd {
namespace {

size_t collect(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// Retry-After in seconds (RFC 9110 also allows a date; collectors send seconds).
size_t read_header(char* data, size_t size, size_t count, void* user) {
  std::string_view line(data, size * count);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string lower(line.substr(0, kName.size()));
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == kName) {
      std::string_view value = line.substr(kName.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      std::uint32_t seconds = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      // Whole seconds only (a date, a negative or a fractional value is ignored), at most a day.
      if (ec == std::errc() && (end == value.data() + value.size() || *end == '\r' || *end == '\n' || *end == ' ')) {
        *static_cast<std::optional<std::chrono::milliseconds>*>(user) =
            std::chrono::seconds(std::min<std::uint32_t>(seconds, 24 * 3600));
      }
    }
  }
  return size * count;
}

HttpResponse post(const std::string& url, std::string_view body, std::string_view content_type,
                  std::string_view content_encoding, const std::map<std::string, std::string>& headers,
                  std::chrono::milliseconds timeout, const HttpTlsConfig& tls) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  thread_local std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> handle(curl_easy_init(), &curl_easy_cleanup);
  CURL* curl = handle.get();
  curl_easy_reset(curl);
  curl_slist* list = nullptr;
  list = curl_slist_append(list, ("Content-Type: " + std::string(content_type)).c_str());
  if (!content_encoding.empty()) {
    list = curl_slist_append(list, ("Content-Encoding: " + std::string(content_encoding)).c_str());
  }
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  for (const auto& [key, value] : headers) list = curl_slist_append(list, (key + ": " + value).c_str());
  HttpResponse response;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "otlpd");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, read_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.retry_after);
  if (!tls.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, tls.ca_file.c_str());
  if (!tls.cert_file.empty()) curl_easy_setopt(curl, CURLOPT_SSLCERT, tls.cert_file.c_str());
  if (!tls.key_file.empty()) curl_easy_setopt(curl, CURLOPT_SSLKEY, tls.key_file.c_str());
  if (tls.insecure_skip_verify) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(list);
  if (rc != CURLE_OK) {
    response.error = curl_easy_strerror(rc);
    return response;
  }
  response.sent = true;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

const HttpClientModule kApi{{OTLPD_MODULE_VERSION, HttpClientModule::kApiName.data(), HttpClientModule::kApiRevision}, &post};

}  // namespace
}  // namespace otlpd

OTLPD_MODULE_ENTRY(otlpd::kApi)
