#include "patchbay/result.h"

#include <cerrno>
#include <cstring>

namespace patchbay {

Error Error::fromErrno(const std::string& what) { return io(what + ": " + std::strerror(errno)); }

const char* errorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput: return "invalid_input";
    case ErrorKind::kNotFound: return "not_found";
    case ErrorKind::kIo: return "io";
    case ErrorKind::kIntegrity: return "integrity";
    case ErrorKind::kSignature: return "signature";
    case ErrorKind::kLimitExceeded: return "limit_exceeded";
    case ErrorKind::kUnsupported: return "unsupported";
    case ErrorKind::kConflict: return "conflict";
    case ErrorKind::kUnauthenticated: return "unauthenticated";
    case ErrorKind::kPermissionDenied: return "permission_denied";
    case ErrorKind::kInternal: return "internal";
    case ErrorKind::kUnavailable: return "unavailable";
  }
  return "internal";
}

}  // namespace patchbay
