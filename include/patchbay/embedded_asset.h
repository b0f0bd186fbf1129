// patchbay/embedded_asset.h — files compiled into the binary (web UI assets),
// generated at build time by cmake/embed_assets.cmake.
#pragma once

#include <cstddef>

namespace patchbay {

struct EmbeddedAsset {
  const char* path;  // relative to the asset folder: "app.js"; nullptr ends a table
  const unsigned char* data;
  size_t size;
};

}  // namespace patchbay
