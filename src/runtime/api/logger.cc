// console.* and sodium.logger.*: a plugin's log lines, bounded in length.
#include "runtime/plugin_impl.h"

namespace patchbay {

using Impl = PluginInstance::Impl;

namespace {

constexpr size_t kMaxLogLineBytes = 16u << 10;

void nativeLog(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Impl* s = Impl::self(info);
  // The prelude cuts long lines; one that still comes too long is
  // replaced, never copied (flattening a rope would allocate all of it).
  std::string line;
  v8::Local<v8::String> text;
  if (info.Length() > 1 && info[1]->ToString(info.GetIsolate()->GetCurrentContext()).ToLocal(&text)) {
    line = static_cast<size_t>(text->Length()) > 2 * kMaxLogLineBytes
               ? "(a log line of " + std::to_string(text->Length()) + " characters was dropped)"
               : toUtf8(s->isolate, text);
  }
  s->log(s->arg(info, 0), line);
}

}  // namespace

void api::addLogger(Natives& natives) { natives.add<nativeLog>("log"); }

}  // namespace patchbay
