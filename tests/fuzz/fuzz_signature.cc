// libFuzzer: minisign public keys, secret keys and signature files.
#include <cstdint>
#include <string_view>

#include "patchbay/signature.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto sig = patchbay::SignatureFile::parse(text);
  auto pk = patchbay::PublicKey::parse(text);
  (void)patchbay::SecretKey::isEncrypted(text);
  if (!patchbay::SecretKey::isEncrypted(text)) (void)patchbay::SecretKey::parse(text);
  if (sig && pk) (void)sig->verify(*pk, text);
  if (sig) {
    auto round = patchbay::SignatureFile::parse(sig->toFileText());
    if (!round || round->trustedComment != sig->trustedComment) __builtin_trap();
  }
  return 0;
}
