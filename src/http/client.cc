#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include "patchbay/http_client.h"
#include "patchbay/text.h"

namespace patchbay::http {

namespace {

void ensureCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct BodySink {
  std::string* body;
  uint64_t limit;  // 0: none
  bool exceeded = false;
};

size_t onBody(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  if (sink->limit && sink->body->size() + size * n > sink->limit) {
    sink->exceeded = true;
    return 0;  // libcurl stops with CURLE_WRITE_ERROR
  }
  sink->body->append(data, size * n);
  return size * n;
}

size_t onHeader(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) headers->clear();  // a new response (after 100 or a redirect)
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name = asciiLower(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
    headers->emplace_back(std::move(name), std::string(value));
  }
  return size * n;
}

int onProgress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* cb = static_cast<const std::function<void(uint64_t, uint64_t)>*>(user);
  (*cb)(static_cast<uint64_t>(now), static_cast<uint64_t>(total));
  return 0;
}

}  // namespace

// libcurl's share interface: one handle shared by every request of the
// pool, its parts locked (libcurl asks) for the threads using them.
struct ConnectionPool::Impl {
  CURLSH* share = nullptr;
  std::mutex locks[CURL_LOCK_DATA_LAST];

  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* self) { static_cast<Impl*>(self)->locks[data].lock(); }
  static void unlock(CURL*, curl_lock_data data, void* self) { static_cast<Impl*>(self)->locks[data].unlock(); }
};

ConnectionPool::ConnectionPool() : impl_(std::make_unique<Impl>()) {
  ensureCurl();
  impl_->share = curl_share_init();
  if (!impl_->share) return;  // requests then open their own connections
  curl_share_setopt(impl_->share, CURLSHOPT_LOCKFUNC, Impl::lock);
  curl_share_setopt(impl_->share, CURLSHOPT_UNLOCKFUNC, Impl::unlock);
  curl_share_setopt(impl_->share, CURLSHOPT_USERDATA, impl_.get());
  curl_share_setopt(impl_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  curl_share_setopt(impl_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(impl_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

ConnectionPool::~ConnectionPool() {
  if (impl_->share) curl_share_cleanup(impl_->share);
}

std::string ClientResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

Result<ClientResponse> fetch(const ClientRequest& request) {
  ensureCurl();
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Error::internal("libcurl could not start a request");
  ClientResponse response;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : request.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
  // No "Expect: 100-continue" round trip. Not for a signed request: libcurl's
  // SigV4 would sign the emptied header it then leaves out (the store
  // answers SignatureDoesNotMatch); those keep the handshake.
  if (request.sigV4.provider.empty()) headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onBody);
  BodySink sink{&response.body, request.maxResponseBytes};
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &response.headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (request.pool && request.pool->impl_->share) curl_easy_setopt(c, CURLOPT_SHARE, request.pool->impl_->share);
  if (!request.sigV4.provider.empty()) {
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, request.sigV4.provider.c_str());
    // Apart, not as "user:password": access key ids may hold a colon (Swift's tempauth "account:user").
    curl_easy_setopt(c, CURLOPT_USERNAME, request.sigV4.accessKeyId.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, request.sigV4.secretKey.c_str());
  }
  if (request.onProgress) {
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, onProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &request.onProgress);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  }
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (sink.exceeded) {
    return Error::limit(request.method + " " + request.url + ": the response is larger than " + std::to_string(request.maxResponseBytes) + " bytes");
  }
  if (rc != CURLE_OK) return Error::io(request.method + " " + request.url + ": " + curl_easy_strerror(rc));
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

Result<HttpUrl> parseHttpUrl(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> handle(curl_url(), curl_url_cleanup);
  if (!handle) return Error::internal("libcurl could not make a URL handle");
  if (curl_url_set(handle.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return Error::invalid("\"" + url + "\" is not a URL");
  }
  auto part = [&](CURLUPart which) {
    char* text = nullptr;
    std::string out;
    if (curl_url_get(handle.get(), which, &text, 0) == CURLUE_OK && text) out = text;
    curl_free(text);
    return asciiLower(out);
  };
  HttpUrl parsed{part(CURLUPART_SCHEME), part(CURLUPART_HOST)};
  if (parsed.scheme != "http" && parsed.scheme != "https") return Error::invalid("only http and https URLs, not \"" + url + "\"");
  if (parsed.host.empty()) return Error::invalid("\"" + url + "\" names no host");
  return parsed;
}

}  // namespace patchbay::http
