#include "http_forwarder.h"

#include <curl/curl.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace leadrelay::cli {
namespace {

size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

HttpForwarder::HttpForwarder(std::string url, absl::Duration timeout)
    : url_(std::move(url)), timeout_(timeout), curl_(curl_easy_init()) {}

HttpForwarder::~HttpForwarder() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

ForwardResult HttpForwarder::Post(
    const std::vector<std::pair<std::string, std::string>>& headers,
    const std::string& body) {
  ForwardResult result;
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) {
    result.error = "libcurl could not start";
    return result;
  }
  struct curl_slist* list = nullptr;
  for (const auto& [name, value] : headers) {
    list = curl_slist_append(list, absl::StrCat(name, ": ", value).c_str());
  }
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(timeout_)));
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  const absl::Time start = absl::Now();
  CURLcode code = curl_easy_perform(curl);
  result.latency = absl::Now() - start;
  if (code == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    result.http_status = static_cast<int>(status);
  } else {
    result.error = curl_easy_strerror(code);
  }
  curl_slist_free_all(list);
  return result;
}

}  // namespace leadrelay::cli
