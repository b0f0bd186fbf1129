// A blob store in a local folder: <root>/<key>, written once (temporary
// file, fsync, rename), so a reader never sees half a blob.
#include <sys/stat.h>

#include <filesystem>

#include "blobs/stores.h"
#include "patchbay/files.h"

namespace patchbay::blobs {

namespace fs = std::filesystem;

namespace {

class FolderStore final : public BlobStore {
 public:
  explicit FolderStore(std::string root) : root_(std::move(root)) {}
  std::string describe() const override { return "folder " + root_; }

  Status put(const std::string& key, std::string_view bytes) override {
    const std::string path = localFile(key);
    std::error_code ec;
    if (fs::exists(path, ec)) {
      // Content-addressed: already there means the same bytes. Made young
      // again, so garbage collection leaves bytes a new row refers to.
      fs::last_write_time(path, fs::file_time_type::clock::now(), ec);
      return {};
    }
    fs::create_directories(fs::path(path).parent_path(), ec);
    if (ec) return Error::io(fs::path(path).parent_path().string() + ": " + ec.message());
    return writeFileAtomically(path, bytes);
  }

  Result<std::string> get(const std::string& key, uint64_t offset, uint64_t length) override {
    const std::string path = localFile(key);
    std::error_code ec;
    if (!fs::exists(path, ec)) return Error::notFound(path + ": no such blob");
    auto all = readFileLimited(path, UINT64_MAX);
    if (!all) return all.error();
    if (offset == 0 && length == 0) return all;
    if (offset > all->size()) return std::string();
    return all->substr(offset, length == 0 ? std::string::npos : length);
  }

  Result<bool> exists(const std::string& key) override {
    std::error_code ec;
    return fs::exists(localFile(key), ec);
  }

  Status remove(const std::string& key) override {
    std::error_code ec;
    fs::remove(localFile(key), ec);
    if (ec) return Error::io(localFile(key) + ": " + ec.message());
    return {};
  }

  Result<std::vector<StoredBlob>> list(const std::string& prefix) override {
    std::vector<StoredBlob> out;
    std::error_code ec;
    if (!fs::exists(root_, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(root_, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      const std::string key = fs::relative(it->path(), root_, ec).string();
      if (!key.starts_with(prefix)) continue;
      struct stat st {};
      if (::stat(it->path().c_str(), &st) != 0) continue;  // gone meanwhile
      StoredBlob b{key, static_cast<uint64_t>(st.st_size),
                   std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)};
      out.push_back(std::move(b));
    }
    if (ec) return Error::io(root_ + ": " + ec.message());
    return out;
  }

  std::string localFile(const std::string& key) const override { return root_ + "/" + key; }
  std::string presignedGet(const std::string&) const override { return ""; }

 private:
  std::string root_;
};

}  // namespace

std::unique_ptr<BlobStore> folderStore(const std::string& root) { return std::make_unique<FolderStore>(root); }

}  // namespace patchbay::blobs
