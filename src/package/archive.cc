// Safe reading of untrusted ZIPs and deterministic writing. See
// patchbay/archive.h for the rules.
#include "patchbay/archive.h"
#include "patchbay/text.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "package/zip_structure.h"

namespace patchbay {

namespace {

using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;

Error entryError(const std::string& name, const std::string& rule) {
  return Error::invalid("entry \"" + name + "\": " + rule);
}

// Folds letter case the way case-insensitive file systems (macOS, Windows)
// would for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic, so that
// "README.md"/"readme.md" and "Ä.txt"/"ä.txt" are seen to collide.
// Expects valid UTF-8.
std::string foldCase(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
      ++i;
      continue;
    }
    size_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : 4;
    if (len == 2 && i + 1 < s.size()) {
      uint32_t cp = ((c & 0x1fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3fu);
      if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) || (cp >= 0x391 && cp <= 0x3AB) || (cp >= 0x410 && cp <= 0x42F)) cp += 0x20;
      else if (cp >= 0x400 && cp <= 0x40F) cp += 0x50;
      else if (cp >= 0x100 && cp <= 0x17F && cp != 0x130 && cp != 0x131 && cp != 0x138 && cp != 0x149 && cp != 0x17F &&
               ((cp < 0x139 || cp > 0x148) ? cp % 2 == 0 : cp % 2 == 1) && !(cp >= 0x179 && cp % 2 == 0))
        cp += 1;
      else if (cp >= 0x179 && cp <= 0x17E && cp % 2 == 1)
        cp += 1;
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

// Checks one central-directory entry; returns its normalised listing entry.
Result<ArchiveEntry> checkEntry(const zip::CentralEntry& e, const ArchiveLimits& limits) {
  const std::string& name = e.name;
  if (name.empty()) return Error::invalid("an entry has an empty name");
  if (!isUtf8(name)) return entryError(name, "name is not valid UTF-8");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return entryError(name, "name contains a control character");
  }
  if (name.find('\\') != std::string::npos) return entryError(name, "name contains a backslash");
  if (name[0] == '/') return entryError(name, "absolute path");
  if (name.size() >= 2 && name[1] == ':') return entryError(name, "path starts with a drive letter");
  if (name.size() > limits.maxPathBytes) return entryError(name, "path is longer than " + std::to_string(limits.maxPathBytes) + " bytes");
  if (e.flags & 0x0001) return Error::unsupported("entry \"" + name + "\": encrypted entries are not supported");
  if (e.method != 0 && e.method != 8) return Error::unsupported("entry \"" + name + "\": compression method " + std::to_string(e.method) + " is not supported (use deflate)");

  ArchiveEntry out;
  out.path = name;
  out.isDirectory = name.back() == '/';
  if (out.isDirectory) out.path.pop_back();
  uint32_t mode = e.unixMode();
  switch (mode & 0170000) {
    case 0: case 0100000: break;
    case 0040000: out.isDirectory = true; break;
    case 0120000: return entryError(name, "is a symbolic link; links are not allowed in packages");
    case 0020000: case 0060000: return entryError(name, "is a device file; only files and folders are allowed");
    case 0010000: return entryError(name, "is a FIFO; only files and folders are allowed");
    case 0140000: return entryError(name, "is a socket; only files and folders are allowed");
    default: return entryError(name, "has an unknown file type");
  }
  if (!e.isUnix() && (e.externalAttributes & 0x10)) out.isDirectory = true;  // MS-DOS folder bit
  size_t depth = 0, start = 0;
  while (start <= out.path.size()) {
    size_t slash = out.path.find('/', start);
    std::string_view comp = std::string_view(out.path).substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (comp.empty()) return entryError(name, "path has an empty component");
    if (comp == "..") return entryError(name, "path contains \"..\"");
    if (comp == ".") return entryError(name, "path contains \".\"");
    ++depth;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (depth > limits.maxPathDepth) return entryError(name, "path is deeper than " + std::to_string(limits.maxPathDepth) + " folders");
  out.size = e.uncompressedSize;
  out.compressedSize = e.compressedSize;
  out.crc32 = e.crc32;
  if (out.isDirectory && (out.size != 0 || out.compressedSize > 2)) return entryError(name, "a folder entry carries data");
  if (e.method == 0 && e.compressedSize != e.uncompressedSize) return entryError(name, "stored entry's compressed and uncompressed sizes differ");
  if (out.size > limits.maxEntryBytes) return Error::limit("entry \"" + name + "\": " + std::to_string(out.size) + " bytes; the limit per file is " + std::to_string(limits.maxEntryBytes));
  if (out.size > limits.ratioFloorBytes && static_cast<double>(out.size) > limits.maxRatio * static_cast<double>(std::max<uint64_t>(1, out.compressedSize))) {
    return Error::limit("entry \"" + name + "\": compression ratio " + std::to_string(out.size / std::max<uint64_t>(1, out.compressedSize)) +
                        ":1 is above the limit of " + std::to_string(static_cast<int>(limits.maxRatio)) + ":1 (a zip bomb?)");
  }
  return out;
}

// A listing that passed every rule, and the order in which libarchive's
// seekable reader visits its entries: by local header offset.
struct Checked {
  ArchiveListing listing;
  std::vector<size_t> visitOrder;  // indices into listing.entries
};

Result<Checked> validate(std::string_view bytes, const ArchiveLimits& limits) {
  if (bytes.size() > limits.maxArchiveBytes) {
    return Error::limit("archive is " + std::to_string(bytes.size()) + " bytes; the limit is " + std::to_string(limits.maxArchiveBytes));
  }
  auto dir = zip::readDirectory(bytes, limits.maxEntries);
  if (!dir) return dir.error();
  ArchiveListing listing;
  std::map<std::string, std::string> folded;  // lowercased path -> path as written
  std::set<std::string> files, dirs;
  for (const auto& ce : dir->entries) {
    auto entry = checkEntry(ce, limits);
    if (!entry) return entry.error();
    const std::string& p = entry->path;
    auto [it, fresh] = folded.emplace(foldCase(p), p);
    if (!fresh) {
      if (it->second == p) {
        // A folder listed twice ("a/" and a "a/" again) is as suspicious as a file.
        return entryError(ce.name, "appears twice in the archive");
      }
      return entryError(ce.name, "collides with \"" + it->second + "\" when letter case is ignored");
    }
    (entry->isDirectory ? dirs : files).insert(p);
    listing.totalBytes += entry->size;
    if (listing.totalBytes > limits.maxTotalBytes) {
      return Error::limit("archive unpacks to more than " + std::to_string(limits.maxTotalBytes) + " bytes (at entry \"" + ce.name + "\")");
    }
    listing.entries.push_back(std::move(entry.value()));
  }
  // "a" as a file and "a/b" below it cannot both exist.
  for (const auto& e : listing.entries) {
    for (size_t slash = e.path.find('/'); slash != std::string::npos; slash = e.path.find('/', slash + 1)) {
      std::string parent = e.path.substr(0, slash);
      if (files.count(parent)) return entryError(parent, "is both a file and a folder (\"" + e.path + "\" is inside it)");
    }
  }
  Checked checked;
  checked.listing = std::move(listing);
  for (size_t i = 0; i < dir->entries.size(); ++i) checked.visitOrder.push_back(i);
  std::sort(checked.visitOrder.begin(), checked.visitOrder.end(),
            [&](size_t a, size_t b) { return dir->entries[a].localHeaderOffset < dir->entries[b].localHeaderOffset; });
  return checked;
}

ArchivePtr openReader(std::string_view bytes, Error& error) {
  ArchivePtr a(archive_read_new(), archive_read_free);
  archive_read_support_format_zip_seekable(a.get());
  archive_read_set_options(a.get(), "zip:hdrcharset=UTF-8");
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    error = Error::invalid(std::string("not a readable ZIP archive: ") + archive_error_string(a.get()));
    return ArchivePtr(nullptr, archive_read_free);
  }
  return a;
}

// Streams the current entry's data to `sink`, checking the byte count.
template <class Sink>
Status streamEntry(struct archive* a, const ArchiveEntry& expected, uint64_t maxBytes, Sink sink) {
  char buf[1 << 16];
  uint64_t total = 0;
  while (true) {
    la_ssize_t n = archive_read_data(a, buf, sizeof buf);
    if (n < 0) return Error::integrity("entry \"" + expected.path + "\": " + archive_error_string(a));
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    if (total > expected.size) return Error::integrity("entry \"" + expected.path + "\": holds more data than the " + std::to_string(expected.size) + " bytes it declares");
    if (total > maxBytes) return Error::limit("entry \"" + expected.path + "\": larger than " + std::to_string(maxBytes) + " bytes");
    if (auto s = sink(buf, static_cast<size_t>(n)); !s) return s;
  }
  if (total != expected.size) return Error::integrity("entry \"" + expected.path + "\": holds " + std::to_string(total) + " bytes but declares " + std::to_string(expected.size));
  return {};
}

// The listing entry for the `index`-th header libarchive reads. Entries
// are matched by position (libarchive visits them by offset), because
// libarchive cannot always give a UTF-8 name in the C locale; when it can,
// the name must agree. Links and special files are refused again here.
Result<const ArchiveEntry*> matchEntry(struct archive_entry* ae, const Checked& checked, size_t index) {
  if (index >= checked.visitOrder.size()) return Error::invalid("the archive holds more entries than its central directory lists");
  const ArchiveEntry* e = &checked.listing.entries[checked.visitOrder[index]];
  if (const char* raw = archive_entry_pathname_utf8(ae); raw && *raw) {
    std::string name = raw;
    if (!name.empty() && name.back() == '/') name.pop_back();
    if (name != e->path) return entryError(e->path, "libarchive reads \"" + name + "\" at this entry's place");
  }
  if (archive_entry_hardlink(ae) != nullptr) return entryError(e->path, "is a hard link; links are not allowed in packages");
  auto type = archive_entry_filetype(ae);
  if (type == AE_IFLNK || archive_entry_symlink(ae) != nullptr) return entryError(e->path, "is a symbolic link; links are not allowed in packages");
  if (type != AE_IFREG && type != AE_IFDIR && type != 0) return entryError(e->path, "is not a regular file or folder");
  return e;
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { if (fd_ >= 0) ::close(fd_); }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  int get() const { return fd_; }
 private:
  int fd_;
};

// Opens (creating as needed) the folder `rel` under rootFd without following links.
Result<int> openFolder(int rootFd, const std::string& rel) {
  int fd = ::dup(rootFd);
  if (fd < 0) return Error::fromErrno("dup");
  size_t start = 0;
  while (start < rel.size()) {
    size_t slash = rel.find('/', start);
    std::string comp = rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (::mkdirat(fd, comp.c_str(), 0755) != 0 && errno != EEXIST) {
      ::close(fd);
      return Error::fromErrno("creating folder \"" + rel.substr(0, slash) + "\"");
    }
    int next = ::openat(fd, comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    ::close(fd);
    if (next < 0) return Error::fromErrno("opening folder \"" + rel.substr(0, slash) + "\"");
    fd = next;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return fd;
}

}  // namespace

const ArchiveEntry* ArchiveListing::find(std::string_view path) const {
  for (const auto& e : entries) {
    if (e.path == path) return &e;
  }
  return nullptr;
}

Result<ArchiveListing> inspectZip(std::string_view bytes, const ArchiveLimits& limits) {
  auto checked = validate(bytes, limits);
  if (!checked) return checked.error();
  return std::move(checked->listing);
}

Result<ArchiveListing> extractZip(std::string_view bytes, const std::string& destDir, const ArchiveLimits& limits) {
  auto checked = validate(bytes, limits);
  if (!checked) return checked.error();
  FdCloser root(::open(destDir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (root.get() < 0) return Error::fromErrno("staging folder \"" + destDir + "\"");
  {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(::dup(root.get())), ::closedir);
    if (!d) return Error::fromErrno("staging folder \"" + destDir + "\"");
    while (auto* ent = ::readdir(d.get())) {
      if (std::strcmp(ent->d_name, ".") != 0 && std::strcmp(ent->d_name, "..") != 0) {
        return Error::invalid("staging folder \"" + destDir + "\" is not empty");
      }
    }
  }
  Error openError;
  ArchivePtr a = openReader(bytes, openError);
  if (!a) return openError;
  size_t index = 0;
  uint64_t written = 0;
  struct archive_entry* ae;
  int rc;
  // ARCHIVE_WARN: libarchive could not convert a UTF-8 name to the C
  // locale. Names are matched in UTF-8 against the validated listing, so
  // the warning is harmless here.
  while ((rc = archive_read_next_header(a.get(), &ae)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    auto match = matchEntry(ae, *checked, index++);
    if (!match) return match.error();
    const ArchiveEntry& e = **match;
    if (e.isDirectory) {
      auto fd = openFolder(root.get(), e.path);
      if (!fd) return fd.error();
      ::close(*fd);
      continue;
    }
    size_t slash = e.path.rfind('/');
    auto parent = slash == std::string::npos ? Result<int>(::dup(root.get())) : openFolder(root.get(), e.path.substr(0, slash));
    if (!parent) return parent.error();
    FdCloser parentFd(*parent);
    std::string leaf = slash == std::string::npos ? e.path : e.path.substr(slash + 1);
    FdCloser out(::openat(parentFd.get(), leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (out.get() < 0) return Error::fromErrno("creating \"" + e.path + "\"");
    ::fchmod(out.get(), 0644);
    auto s = streamEntry(a.get(), e, limits.maxEntryBytes, [&](const char* p, size_t n) -> Status {
      written += n;
      if (written > limits.maxTotalBytes) return Error::limit("archive unpacks to more than " + std::to_string(limits.maxTotalBytes) + " bytes");
      while (n > 0) {
        ssize_t w = ::write(out.get(), p, n);
        if (w < 0) {
          if (errno == EINTR) continue;
          return Error::fromErrno("writing \"" + e.path + "\"");
        }
        p += w;
        n -= static_cast<size_t>(w);
      }
      return {};
    });
    if (!s) return s.error();
  }
  if (rc != ARCHIVE_EOF) return Error::invalid(std::string("reading the archive failed: ") + archive_error_string(a.get()));
  if (index != checked->listing.entries.size()) return Error::invalid("the archive's entries could not all be read");
  return std::move(checked->listing);
}

Result<std::string> readZipEntry(std::string_view bytes, std::string_view path, uint64_t maxBytes, const ArchiveLimits& limits) {
  auto checked = validate(bytes, limits);
  if (!checked) return checked.error();
  const ArchiveEntry* wanted = checked->listing.find(path);
  if (!wanted || wanted->isDirectory) return Error::notFound("no file \"" + std::string(path) + "\" in the archive");
  if (wanted->size > maxBytes) return Error::limit("\"" + std::string(path) + "\" is " + std::to_string(wanted->size) + " bytes; at most " + std::to_string(maxBytes) + " are read");
  Error openError;
  ArchivePtr a = openReader(bytes, openError);
  if (!a) return openError;
  size_t index = 0;
  struct archive_entry* ae;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &ae)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    auto match = matchEntry(ae, *checked, index++);
    if (!match) return match.error();
    if (*match != wanted) continue;
    std::string out;
    auto s = streamEntry(a.get(), *wanted, maxBytes, [&](const char* p, size_t n) -> Status {
      out.append(p, n);
      return {};
    });
    if (!s) return s.error();
    return out;
  }
  return Error::invalid(std::string("reading the archive failed: ") + archive_error_string(a.get()));
}

Result<std::string> writeDeterministicZip(std::vector<ZipInput> files) {
  std::sort(files.begin(), files.end(), [](const ZipInput& a, const ZipInput& b) { return a.path < b.path; });
  for (size_t i = 1; i < files.size(); ++i) {
    if (files[i].path == files[i - 1].path) return Error::invalid("\"" + files[i].path + "\" is given twice");
  }
  std::string out;
  ArchivePtr a(archive_write_new(), archive_write_free);
  archive_write_set_format_zip(a.get());
  archive_write_set_options(a.get(), "zip:compression=deflate");
  archive_write_set_bytes_per_block(a.get(), 0);  // no padding: the archive ends where it ends
  auto write = [](struct archive*, void* data, const void* buf, size_t n) -> la_ssize_t {
    static_cast<std::string*>(data)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  };
  if (archive_write_open(a.get(), &out, nullptr, write, nullptr) != ARCHIVE_OK) {
    return Error::internal(std::string("zip writer: ") + archive_error_string(a.get()));
  }
  constexpr time_t kEpoch = 315532800;  // 1980-01-01T00:00:00Z, the earliest DOS time
  for (const auto& f : files) {
    std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)> e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname_utf8(e.get(), f.path.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(f.content.size()));
    archive_entry_set_mtime(e.get(), kEpoch, 0);
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK ||
        (!f.content.empty() && archive_write_data(a.get(), f.content.data(), f.content.size()) < 0)) {
      return Error::internal("zip writer: \"" + f.path + "\": " + archive_error_string(a.get()));
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return Error::internal(std::string("zip writer: ") + archive_error_string(a.get()));
  // libarchive writes DOS times in the local time zone; fix them so the
  // bytes are the same everywhere.
  if (auto s = zip::normalizeTimestamps(out); !s) return Error::internal("zip writer produced an unreadable archive: " + s.error().message);
  return out;
}

}  // namespace patchbay
