// OpenStack Swift from Debian's packages as an S3-compatible object store
// for a test: an object, a container and an account server on one-replica
// rings over one device folder, memcached, and a proxy with the s3api and
// tempauth middleware, all on loopback ports under a temporary folder.
// Started by the test, stopped (folder removed) when the object goes.
//
//   test::SwiftServer swift;
//   ASSERT_TRUE(swift.ok()) << swift.error();
//   swift.createBucket("plugins");
//   "s3://plugins?endpoint=" + swift.endpoint() + "&region=us-east-1"   // with swift.accessKeyId(), swift.secretKey()
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace patchbay::test {

class SwiftServer {
 public:
  SwiftServer();
  ~SwiftServer();
  SwiftServer(const SwiftServer&) = delete;
  SwiftServer& operator=(const SwiftServer&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(proxyPort_); }
  // tempauth's user: the S3 access key id is "account:user".
  std::string accessKeyId() const { return "test:tester"; }
  std::string secretKey() const { return "testing"; }
  // PUT /<bucket>, signed; "" when made, else why not.
  std::string createBucket(const std::string& bucket) const;

 private:
  std::filesystem::path dir_;
  std::string error_;
  int proxyPort_ = 0;
  std::vector<int> pids_;
};

}  // namespace patchbay::test
