// ArrayBuffer memory lives outside the JS heap: this allocator caps it, so a
// plugin cannot take the process's memory through typed arrays.
#pragma once

#include <v8.h>

#include <memory>

namespace patchbay {

// An allocator that refuses (returns null, which V8 turns into a RangeError
// in the plugin) once `capBytes` are in use.
std::unique_ptr<v8::ArrayBuffer::Allocator> newCappedAllocator(size_t capBytes);

// A ValueSerializer delegate whose buffer (also outside the JS heap) may not
// grow past `capBytes`: past it serializing fails with a JS error.
std::unique_ptr<v8::ValueSerializer::Delegate> newCappedSerializerDelegate(v8::Isolate* isolate, size_t capBytes);

}  // namespace patchbay
