// patchbay/blob_store.h — where a registry keeps package and bundle bytes:
// a local folder (the default) or an S3-compatible object store.
//
//   auto store = openBlobStore("data/blobs").value();                    // a folder
//   auto store = openBlobStore("s3://plugins?endpoint=https://s3.example.com&region=eu-west-1").value();
//   store->put("ab/ab12….zip", bytes);
//   auto bytes = store->get("ab/ab12….zip");
//
// Keys name content (the registry's are "<sha256[0:2]>/<sha256><ext>"), so
// storing a key again stores the same bytes: retries are idempotent. The
// catalog is the index; a store is never listed to find what exists, only
// to collect garbage (list()).
//
// An S3 store's URL: s3://BUCKET?endpoint=URL&region=REGION, and optionally
//   &prefix=P        keys live under P/ in the bucket
//   &presign=SECONDS downloads redirect to a URL presigned for that long
//   &credentials=FILE a file of AWS_ACCESS_KEY_ID=… and AWS_SECRET_ACCESS_KEY=…
//                    lines; without it, those two environment variables.
// Requests are signed with AWS Signature Version 4 (libcurl's), each with
// x-amz-content-sha256 set to its body's SHA-256: the store refuses an
// upload whose bytes were changed on the way. Paths are bucket-style
// (ENDPOINT/BUCKET/KEY), which every S3-compatible store answers.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "patchbay/result.h"

namespace patchbay {

struct StoredBlob {
  std::string key;
  uint64_t size = 0;
  std::chrono::system_clock::time_point modified;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // "folder data/blobs", "s3 http://127.0.0.1:8080/plugins": for logs and errors (no secrets).
  virtual std::string describe() const = 0;
  // Keeps `bytes` under `key`; once it succeeded they are there for good
  // (fsynced, or acknowledged by the store).
  virtual Status put(const std::string& key, std::string_view bytes) = 0;
  // The bytes under `key`, or `length` of them from `offset` (length 0:
  // to the end). kNotFound when there is no such key.
  virtual Result<std::string> get(const std::string& key, uint64_t offset = 0, uint64_t length = 0) = 0;
  virtual Result<bool> exists(const std::string& key) = 0;
  // Removes `key`; removing a missing key succeeds.
  virtual Status remove(const std::string& key) = 0;
  // Every key under `prefix` ("" for all), for garbage collection.
  virtual Result<std::vector<StoredBlob>> list(const std::string& prefix = "") = 0;
  // A local file holding `key` (served without copying), "" for a remote store.
  virtual std::string localFile(const std::string& key) const = 0;
  // A URL that GETs `key` without credentials until it expires, when the
  // store was configured to hand them out (presign=SECONDS); "" otherwise.
  virtual std::string presignedGet(const std::string& key) const = 0;
};

// A folder path, or an s3:// URL (above). kInvalidInput names what is wrong
// with the URL; credentials missing for an S3 store are an error here, not
// at the first upload.
Result<std::unique_ptr<BlobStore>> openBlobStore(const std::string& spec);

// AWS Signature Version 4 query signing (a presigned URL) for GET of
// `url` (scheme://host[:port]/path, the path already URL-encoded), valid for
// `expires` from `now`: the signing libcurl does not do. Exposed for tests
// (checked against AWS's documented example).
std::string presignS3Get(const std::string& url, const std::string& region, const std::string& accessKeyId, const std::string& secretKey,
                         std::chrono::seconds expires, std::chrono::system_clock::time_point now);

}  // namespace patchbay
