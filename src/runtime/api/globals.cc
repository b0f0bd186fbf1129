// JavaScript globals the runtime provides natively: structuredClone and
// crypto.randomUUID.
#include "patchbay/integrity.h"
#include "runtime/capped_allocator.h"
#include "runtime/plugin_impl.h"

namespace patchbay {

using Impl = PluginInstance::Impl;

namespace {

// structuredClone(value): V8's own serializer, as browsers use it.
void nativeStructuredClone(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  auto ctx = isolate->GetCurrentContext();
  // Its buffer is outside the JS heap: capped at the heap's size (a clone
  // of more could not be held anyway); past it the clone throws.
  auto bounds = newCappedSerializerDelegate(isolate, Impl::self(info)->limits.heapBytes);
  v8::ValueSerializer serializer(isolate, bounds.get());
  serializer.WriteHeader();
  if (!serializer.WriteValue(ctx, info.Length() > 0 ? info[0] : v8::Undefined(isolate).As<v8::Value>())
           .FromMaybe(false))
    return;
  std::pair<uint8_t*, size_t> buffer = serializer.Release();
  v8::Local<v8::Value> copy;
  {
    v8::ValueDeserializer deserializer(isolate, buffer.first, buffer.second);
    if (deserializer.ReadHeader(ctx).FromMaybe(false) && deserializer.ReadValue(ctx).ToLocal(&copy))
      info.GetReturnValue().Set(copy);
  }
  bounds->FreeBufferMemory(buffer.first);
}

void nativeRandomUuid(const v8::FunctionCallbackInfo<v8::Value>& info) {
  info.GetReturnValue().Set(v8str(info.GetIsolate(), randomUuid()));
}

}  // namespace

void api::addGlobals(Natives& natives) {
  natives.add<nativeStructuredClone>("structuredClone");
  natives.add<nativeRandomUuid>("randomUUID");
}

}  // namespace patchbay
