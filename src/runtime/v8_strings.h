// Strings between C++ (UTF-8) and V8. Internal to the runtime.
#pragma once

#include <v8.h>

#include <string>
#include <string_view>

namespace patchbay {

// A V8 string of UTF-8 text (ill-formed bytes become U+FFFD).
inline v8::Local<v8::String> v8str(v8::Isolate* isolate, std::string_view s) {
  return v8::String::NewFromUtf8(isolate, s.data(), v8::NewStringType::kNormal, static_cast<int>(s.size())).ToLocalChecked();
}

// A value as UTF-8 text: a string as it is (lone surrogates as U+FFFD),
// anything else as String(value) gives it, an exception swallowed ("").
inline std::string toUtf8(v8::Isolate* isolate, v8::Local<v8::Value> value) {
  if (!value->IsString()) {
    v8::String::Utf8Value s(isolate, value);
    return *s ? std::string(*s, static_cast<size_t>(s.length())) : std::string();
  }
  // Straight into the std::string (Utf8Value copies it twice).
  v8::Local<v8::String> s = value.As<v8::String>();
  std::string out(static_cast<size_t>(s->Utf8Length(isolate)), '\0');
  if (!out.empty()) {
    s->WriteUtf8(isolate, out.data(), static_cast<int>(out.size()), nullptr,
                 v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
  }
  return out;
}

}  // namespace patchbay
