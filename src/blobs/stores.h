// The blob stores behind openBlobStore (patchbay/blob_store.h).
#pragma once

#include <memory>
#include <string>

#include "patchbay/blob_store.h"

namespace patchbay::blobs {

std::unique_ptr<BlobStore> folderStore(const std::string& root);
// `url` is an s3:// URL; its errors name the part that is wrong.
Result<std::unique_ptr<BlobStore>> s3Store(const std::string& url);

}  // namespace patchbay::blobs
