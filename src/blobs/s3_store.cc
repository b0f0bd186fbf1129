// A blob store in an S3-compatible object store, over libcurl with its
// SigV4 signing; every request carries x-amz-content-sha256.
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>

#include "blobs/stores.h"
#include "patchbay/files.h"
#include "patchbay/http.h"
#include "patchbay/http_client.h"
#include "patchbay/integrity.h"

namespace patchbay::blobs {

namespace {

constexpr const char* kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr auto kTimeout = std::chrono::seconds(60);


std::string xmlUnescape(std::string s) {
  static const std::pair<const char*, const char*> entities[] = {{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}};
  for (const auto& [from, to] : entities) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + 1)) s.replace(at, std::strlen(from), to);
  }
  return s;
}

// The text of the first <tag>…</tag> in `xml` from `from`, and where it ended.
std::optional<std::string> element(std::string_view xml, const std::string& tag, size_t from = 0, size_t* end = nullptr) {
  const size_t open = xml.find("<" + tag + ">", from);
  if (open == std::string_view::npos) return std::nullopt;
  const size_t start = open + tag.size() + 2;
  const size_t close = xml.find("</" + tag + ">", start);
  if (close == std::string_view::npos) return std::nullopt;
  if (end) *end = close + tag.size() + 3;
  return xmlUnescape(std::string(xml.substr(start, close - start)));
}

std::chrono::system_clock::time_point parseIsoTime(const std::string& text) {
  std::tm tm{};
  if (!strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

struct S3Config {
  std::string bucket, endpoint, region, prefix, accessKeyId, secretKey;
  std::chrono::seconds presign{0};
};

// KEY=value lines (# comments, blank lines): the credentials file.
Result<std::map<std::string, std::string>> readKeyValues(const std::string& path) {
  auto text = readFileLimited(path, 64 << 10);
  if (!text) return Error{text.error().kind, "credentials=" + path + ": " + text.error().message};
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= text->size()) {
    size_t nl = text->find('\n', start);
    std::string line = text->substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    start = nl == std::string::npos ? text->size() + 1 : nl + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) return Error::invalid("credentials=" + path + ": \"" + line.substr(0, 40) + "\" is not KEY=value");
    out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

Result<S3Config> parseS3Url(const std::string& url) {
  const std::string where = "--blobs " + url.substr(0, url.find('?')) + ": ";
  S3Config c;
  std::string rest = url.substr(5);  // after s3://
  const size_t q = rest.find('?');
  c.bucket = rest.substr(0, q);
  if (c.bucket.empty() || c.bucket.find('/') != std::string::npos) return Error::invalid(where + "name a bucket: s3://BUCKET?endpoint=URL&region=REGION");
  std::string credentialsFile;
  if (q != std::string::npos) {
    std::string query = rest.substr(q + 1);
    size_t start = 0;
    while (start < query.size()) {
      size_t amp = query.find('&', start);
      std::string pair = query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
      start = amp == std::string::npos ? query.size() : amp + 1;
      const size_t eq = pair.find('=');
      const std::string key = pair.substr(0, eq);
      auto value = http::percentDecoded(eq == std::string::npos ? "" : pair.substr(eq + 1));
      if (!value) return Error::invalid(where + key + ": bad percent-encoding");
      if (key == "endpoint") {
        c.endpoint = *value;
      } else if (key == "region") {
        c.region = *value;
      } else if (key == "prefix") {
        c.prefix = *value;
        while (!c.prefix.empty() && c.prefix.back() == '/') c.prefix.pop_back();
      } else if (key == "presign") {
        char* end = nullptr;
        const long seconds = std::strtol(value->c_str(), &end, 10);
        if (value->empty() || *end != 0 || seconds < 1 || seconds > 7 * 24 * 3600) {
          return Error::invalid(where + "presign=" + *value + ": seconds from 1 to 604800 (a week, S3's longest)");
        }
        c.presign = std::chrono::seconds(seconds);
      } else if (key == "credentials") {
        credentialsFile = *value;
      } else {
        return Error::invalid(where + "unknown parameter \"" + key + "\" (endpoint, region, prefix, presign, credentials)");
      }
    }
  }
  if (c.endpoint.empty()) return Error::invalid(where + "endpoint=URL is missing (the store's http:// or https:// address)");
  if (auto parsed = http::parseHttpUrl(c.endpoint); !parsed) return Error::invalid(where + "endpoint: " + parsed.error().message);
  while (c.endpoint.back() == '/') c.endpoint.pop_back();
  if (c.region.empty()) c.region = "us-east-1";
  if (!credentialsFile.empty()) {
    auto values = readKeyValues(credentialsFile);
    if (!values) return values.error();
    c.accessKeyId = (*values)["AWS_ACCESS_KEY_ID"];
    c.secretKey = (*values)["AWS_SECRET_ACCESS_KEY"];
    if (c.accessKeyId.empty() || c.secretKey.empty()) {
      return Error::invalid("credentials=" + credentialsFile + ": needs AWS_ACCESS_KEY_ID=… and AWS_SECRET_ACCESS_KEY=… lines");
    }
  } else {
    const char* id = std::getenv("AWS_ACCESS_KEY_ID");
    const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
    if (!id || !*id || !secret || !*secret) {
      return Error::invalid(where + "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or credentials=FILE");
    }
    c.accessKeyId = id;
    c.secretKey = secret;
  }
  return c;
}

class S3Store final : public BlobStore {
 public:
  explicit S3Store(S3Config c) : c_(std::move(c)) {}

  std::string describe() const override { return "s3 " + c_.endpoint + "/" + c_.bucket + (c_.prefix.empty() ? "" : "/" + c_.prefix); }

  Status put(const std::string& key, std::string_view bytes) override {
    auto r = send("PUT", objectUrl(key), std::string(bytes), {{"Content-Type", "application/octet-stream"}});
    if (!r) return r.error();
    if (r->status / 100 != 2) return failure("PUT", key, *r);
    return {};
  }

  Result<std::string> get(const std::string& key, uint64_t offset, uint64_t length) override {
    std::vector<std::pair<std::string, std::string>> headers;
    if (offset != 0 || length != 0) {
      headers.push_back({"Range", "bytes=" + std::to_string(offset) + "-" + (length == 0 ? "" : std::to_string(offset + length - 1))});
    }
    auto r = send("GET", objectUrl(key), "", headers);
    if (!r) return r.error();
    if (r->status == 404) return Error::notFound(describe() + ": no blob " + key);
    if (r->status == 416) return std::string();
    if (r->status / 100 != 2) return failure("GET", key, *r);
    return std::move(r->body);
  }

  Result<bool> exists(const std::string& key) override {
    auto r = send("HEAD", objectUrl(key), "", {});
    if (!r) return r.error();
    if (r->status == 404) return false;
    if (r->status / 100 != 2) return failure("HEAD", key, *r);
    return true;
  }

  Status remove(const std::string& key) override {
    auto r = send("DELETE", objectUrl(key), "", {});
    if (!r) return r.error();
    if (r->status / 100 != 2 && r->status != 404) return failure("DELETE", key, *r);
    return {};
  }

  Result<std::vector<StoredBlob>> list(const std::string& prefix) override {
    std::vector<StoredBlob> out;
    const std::string full = c_.prefix.empty() ? prefix : c_.prefix + "/" + prefix;
    std::string token;
    while (true) {
      // Query parameters sorted and encoded here: SigV4 signs them as sent.
      std::string query = token.empty() ? "" : "continuation-token=" + http::percentEncoded(token, false) + "&";
      query += "list-type=2";
      if (!full.empty()) query += "&prefix=" + http::percentEncoded(full, false);
      auto r = send("GET", c_.endpoint + "/" + http::percentEncoded(c_.bucket, false) + "?" + query, "", {});
      if (!r) return r.error();
      if (r->status / 100 != 2) return failure("LIST", prefix, *r);
      size_t at = 0, end = 0;
      while (auto contents = element(r->body, "Contents", at, &end)) {
        at = end;
        StoredBlob b;
        b.key = element(*contents, "Key").value_or("");
        if (!c_.prefix.empty() && b.key.starts_with(c_.prefix + "/")) b.key = b.key.substr(c_.prefix.size() + 1);
        b.size = std::strtoull(element(*contents, "Size").value_or("0").c_str(), nullptr, 10);
        b.modified = parseIsoTime(element(*contents, "LastModified").value_or(""));
        out.push_back(std::move(b));
      }
      if (element(r->body, "IsTruncated").value_or("false") != "true") break;
      token = element(r->body, "NextContinuationToken").value_or("");
      if (token.empty()) break;
    }
    return out;
  }

  std::string localFile(const std::string&) const override { return ""; }

  std::string presignedGet(const std::string& key) const override {
    if (c_.presign.count() == 0) return "";
    return presignS3Get(objectUrl(key), c_.region, c_.accessKeyId, c_.secretKey, c_.presign, std::chrono::system_clock::now());
  }

 private:
  std::string objectUrl(const std::string& key) const {
    return c_.endpoint + "/" + http::percentEncoded(c_.bucket, false) + "/" + http::percentEncoded(c_.prefix.empty() ? key : c_.prefix + "/" + key, true);
  }

  Result<http::ClientResponse> send(const std::string& method, const std::string& url, std::string body,
                                    std::vector<std::pair<std::string, std::string>> headers) const {
    http::ClientRequest req;
    req.method = method;
    req.url = url;
    headers.push_back({"x-amz-content-sha256", body.empty() ? kEmptySha256 : sha256Hex(body)});
    req.headers = std::move(headers);
    req.body = std::move(body);
    req.timeout = kTimeout;
    req.sigV4 = {"aws:amz:" + c_.region + ":s3", c_.accessKeyId, c_.secretKey};
    req.pool = connections_;
    auto r = http::fetch(req);
    if (!r) return Error{ErrorKind::kUnavailable, describe() + ": " + r.error().message};
    return r;
  }

  Error failure(const std::string& what, const std::string& key, const http::ClientResponse& r) const {
    std::string code = element(r.body, "Code").value_or(""), message = element(r.body, "Message").value_or("");
    const std::string text = describe() + ": " + what + " " + key + " answered " + std::to_string(r.status) +
                             (code.empty() ? "" : " " + code) + (message.empty() ? "" : ": " + message);
    if (r.status == 403) return Error::denied(text + " (check the credentials and the bucket's permissions)");
    if (r.status == 400 && code == "BadDigest") return Error::integrity(text);
    if (r.status >= 500 || r.status == 429) return Error{ErrorKind::kUnavailable, text};
    return Error::io(text);
  }

  S3Config c_;
  std::shared_ptr<http::ConnectionPool> connections_ = std::make_shared<http::ConnectionPool>();  // to the store, kept open
};

}  // namespace

Result<std::unique_ptr<BlobStore>> s3Store(const std::string& url) {
  auto config = parseS3Url(url);
  if (!config) return config.error();
  return std::unique_ptr<BlobStore>(std::make_unique<S3Store>(std::move(*config)));
}

}  // namespace patchbay::blobs

namespace patchbay {

Result<std::unique_ptr<BlobStore>> openBlobStore(const std::string& spec) {
  if (spec.starts_with("s3://")) return blobs::s3Store(spec);
  if (spec.find("://") != std::string::npos) return Error::invalid("--blobs " + spec + ": a folder, or s3://BUCKET?endpoint=URL&region=REGION");
  if (spec.empty()) return Error::invalid("--blobs: empty");
  return blobs::folderStore(spec);
}

}  // namespace patchbay
