// patchbay/files.h — reading and writing whole files safely.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "patchbay/result.h"

namespace patchbay {

// Reads a whole regular file, refusing one above maxBytes (kLimitExceeded)
// before reading it. Errors name the path.
Result<std::string> readFileLimited(const std::string& path, uint64_t maxBytes);

// Writes `bytes` to `path` so that readers see the old file or the new one,
// never a part: a temporary file beside it, fsync, rename, fsync of the
// folder. On error the temporary file is removed and `path` is untouched.
Status writeFileAtomically(const std::string& path, std::string_view bytes);

}  // namespace patchbay
