// AWS Signature Version 4 in the query string (a presigned GET), which
// libcurl does not make: the canonical request, the string to sign, the
// derived key, as AWS's "Authenticating Requests: Using Query Parameters"
// describes them.
#include <sodium.h>

#include <ctime>

#include "patchbay/blob_store.h"
#include "patchbay/http.h"
#include "patchbay/integrity.h"

namespace patchbay {

namespace {

std::string hmac(std::string_view key, std::string_view data) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}



std::string utc(std::chrono::system_clock::time_point t, const char* format) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

}  // namespace

std::string presignS3Get(const std::string& url, const std::string& region, const std::string& accessKeyId, const std::string& secretKey,
                         std::chrono::seconds expires, std::chrono::system_clock::time_point now) {
  const size_t schemeEnd = url.find("://");
  const size_t pathStart = url.find('/', schemeEnd + 3);
  const std::string host = url.substr(schemeEnd + 3, pathStart == std::string::npos ? std::string::npos : pathStart - schemeEnd - 3);
  const std::string path = pathStart == std::string::npos ? "/" : url.substr(pathStart);
  const std::string date = utc(now, "%Y%m%d"), stamp = utc(now, "%Y%m%dT%H%M%SZ");
  const std::string scope = date + "/" + region + "/s3/aws4_request";
  // Sorted by name, as the canonical request wants them.
  const std::string query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + http::percentEncoded(accessKeyId + "/" + scope) + "&X-Amz-Date=" + stamp +
                            "&X-Amz-Expires=" + std::to_string(expires.count()) + "&X-Amz-SignedHeaders=host";
  const std::string canonical = "GET\n" + path + "\n" + query + "\nhost:" + host + "\n\nhost\nUNSIGNED-PAYLOAD";
  const std::string toSign = "AWS4-HMAC-SHA256\n" + stamp + "\n" + scope + "\n" + sha256Hex(canonical);
  const std::string key = hmac(hmac(hmac(hmac("AWS4" + secretKey, date), region), "s3"), "aws4_request");
  const std::string signature = hmac(key, toSign);
  return url + "?" + query + "&X-Amz-Signature=" + toHex(reinterpret_cast<const unsigned char*>(signature.data()), signature.size());
}

}  // namespace patchbay
