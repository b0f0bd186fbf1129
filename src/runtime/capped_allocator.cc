// Built with -fno-rtti: Debian's libnode has no RTTI, so a class derived
// from a V8 class must not ask for V8's typeinfo.
#include "runtime/capped_allocator.h"

#include <atomic>

namespace patchbay {

namespace {

class CappedAllocator final : public v8::ArrayBuffer::Allocator {
 public:
  explicit CappedAllocator(size_t cap) : cap_(cap), inner_(v8::ArrayBuffer::Allocator::NewDefaultAllocator()) {}
  void* Allocate(size_t length) override { return reserve(length) ? inner_->Allocate(length) : nullptr; }
  void* AllocateUninitialized(size_t length) override { return reserve(length) ? inner_->AllocateUninitialized(length) : nullptr; }
  void Free(void* data, size_t length) override {
    used_ -= length;
    inner_->Free(data, length);
  }

 private:
  bool reserve(size_t length) {
    size_t now = used_.load();
    do {
      if (now + length > cap_) return false;
    } while (!used_.compare_exchange_weak(now, now + length));
    return true;
  }
  size_t cap_;
  std::atomic<size_t> used_{0};
  std::unique_ptr<v8::ArrayBuffer::Allocator> inner_;
};

}  // namespace

std::unique_ptr<v8::ArrayBuffer::Allocator> newCappedAllocator(size_t capBytes) {
  return std::make_unique<CappedAllocator>(capBytes);
}

}  // namespace patchbay
