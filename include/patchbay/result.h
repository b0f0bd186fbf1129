// patchbay/result.h — errors as values.
//
// Every operation that can fail because of its input or its environment
// returns Result<T> (or Status = Result<void>). A broken invariant inside
// patchbay is a bug and asserts instead; nothing a user, a plugin or the
// machine controls is ever asserted.
//
//   Result<Manifest> m = parseManifest(...);
//   if (!m) return m.error();          // propagate
//   use(m.value());
//
// Messages name the thing (file, field, entry, plugin id) and the rule that
// was broken, so they can be shown to a user as they are.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace patchbay {

// Who caused a failure, so callers can pick an exit code or HTTP status.
enum class ErrorKind {
  kInvalidInput,   // malformed or rule-breaking input (exit 1, HTTP 400)
  kNotFound,       // a named thing does not exist (HTTP 404)
  kIo,             // the file system or network failed
  kIntegrity,      // bytes differ from what was promised (hash, size)
  kSignature,      // a signature is missing, malformed or does not verify
  kLimitExceeded,  // a configured limit (size, count, ratio) was hit
  kUnsupported,    // valid, but a form patchbay does not handle
  kConflict,       // clashes with what exists (a version already taken) (HTTP 409)
  kUnauthenticated,  // no or bad credentials (HTTP 401)
  kPermissionDenied,  // credentials fine, action not allowed (HTTP 403)
  kInternal,       // a failure of a library we call that we cannot classify
  kUnavailable,    // a service it depends on (the database) is down for now: try again (HTTP 503)
};

const char* errorKindName(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;

  static Error invalid(std::string m) { return {ErrorKind::kInvalidInput, std::move(m)}; }
  static Error notFound(std::string m) { return {ErrorKind::kNotFound, std::move(m)}; }
  static Error io(std::string m) { return {ErrorKind::kIo, std::move(m)}; }
  static Error integrity(std::string m) { return {ErrorKind::kIntegrity, std::move(m)}; }
  static Error signature(std::string m) { return {ErrorKind::kSignature, std::move(m)}; }
  static Error limit(std::string m) { return {ErrorKind::kLimitExceeded, std::move(m)}; }
  static Error unsupported(std::string m) { return {ErrorKind::kUnsupported, std::move(m)}; }
  static Error internal(std::string m) { return {ErrorKind::kInternal, std::move(m)}; }
  static Error conflict(std::string m) { return {ErrorKind::kConflict, std::move(m)}; }
  static Error unauthenticated(std::string m) { return {ErrorKind::kUnauthenticated, std::move(m)}; }
  static Error denied(std::string m) { return {ErrorKind::kPermissionDenied, std::move(m)}; }
  static Error unavailable(std::string m) { return {ErrorKind::kUnavailable, std::move(m)}; }
  // An I/O error from the system call that just failed: "<what>: <strerror(errno)>".
  static Error fromErrno(const std::string& what);

  // Prefixes context: Error::io("permission denied").in("/tmp/x") reads
  // "/tmp/x: permission denied".
  Error in(const std::string& where) const& { return {kind, where + ": " + message}; }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(state_); }
  const T& value() const& { assert(ok()); return std::get<0>(state_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { assert(!ok()); return *error_; }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

}  // namespace patchbay
