// setTimeout, setInterval and their clears: timers on the plugin's executor,
// capped in number (the executor fires them).
#include "runtime/plugin_impl.h"

namespace patchbay {

using Impl = PluginInstance::Impl;

namespace {

void nativeSetTimer(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Impl* s = Impl::self(info);
  auto ctx = info.GetIsolate()->GetCurrentContext();
  auto id = static_cast<int64_t>(info[0]->NumberValue(ctx).FromMaybe(0));
  auto ms = std::chrono::milliseconds(static_cast<int64_t>(info[1]->NumberValue(ctx).FromMaybe(0)));
  {
    std::lock_guard lock(s->mu);
    if (s->timers.size() >= s->limits.maxTimers) {
      info.GetIsolate()->ThrowException(v8::Exception::RangeError(
          v8str(info.GetIsolate(), "too many timers: plugin \"" + s->manifest.id + "\" has " +
                                       std::to_string(s->limits.maxTimers) +
                                       " pending; clear some (clearTimeout, clearInterval) first")));
      return;
    }
    s->timers[id] = {std::chrono::steady_clock::now() + ms, ms, info[2]->BooleanValue(info.GetIsolate())};
  }
  s->wake.notify_one();  // the executor may be asleep with no timer to wait for
}

void nativeClearTimer(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Impl* s = Impl::self(info);
  std::lock_guard lock(s->mu);
  s->timers.erase(static_cast<int64_t>(info[0]->NumberValue(info.GetIsolate()->GetCurrentContext()).FromMaybe(0)));
}

}  // namespace

void api::addTimers(Natives& natives) {
  natives.add<nativeSetTimer>("setTimer");
  natives.add<nativeClearTimer>("clearTimer");
}

}  // namespace patchbay
