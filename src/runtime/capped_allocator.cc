// Built with -fno-rtti: Debian's libnode has no RTTI, so a class derived
// from a V8 class must not ask for V8's typeinfo.
#include "runtime/capped_allocator.h"

#include <atomic>
#include <cstdlib>

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

// The serializer's buffer (structuredClone): realloc'd outside the JS heap,
// refused past the cap (V8 then throws "Data cannot be cloned, out of memory").
class CappedSerializerDelegate final : public v8::ValueSerializer::Delegate {
 public:
  CappedSerializerDelegate(v8::Isolate* isolate, size_t cap) : isolate_(isolate), cap_(cap) {}
  void ThrowDataCloneError(v8::Local<v8::String> message) override { isolate_->ThrowException(v8::Exception::Error(message)); }
  void* ReallocateBufferMemory(void* old, size_t size, size_t* actual) override {
    if (size > cap_) return nullptr;
    void* grown = std::realloc(old, size);
    if (grown) *actual = size;
    return grown;
  }
  void FreeBufferMemory(void* buffer) override { std::free(buffer); }

 private:
  v8::Isolate* isolate_;
  size_t cap_;
};

}  // namespace

std::unique_ptr<v8::ValueSerializer::Delegate> newCappedSerializerDelegate(v8::Isolate* isolate, size_t capBytes) {
  return std::make_unique<CappedSerializerDelegate>(isolate, capBytes);
}

std::unique_ptr<v8::ArrayBuffer::Allocator> newCappedAllocator(size_t capBytes) {
  return std::make_unique<CappedAllocator>(capBytes);
}

}  // namespace patchbay
