// The context every plugin starts from: web.js's globals installed (URL,
// TextEncoder, ...) and prelude.js evaluated to its factory, which each
// plugin then calls with its own natives.
//
// Running the two scripts took ~2 ms of every activation here (parsing
// 30 KB and building the globals) and a fresh context another ~1.3 ms. So
// they run once per process, in a V8 SnapshotCreator, and the result is the
// startup snapshot plugins' isolates are made from: a plugin's context is
// then deserialized, scripts already run, in a fraction of that.
// web.js and prelude.js must stay plain JavaScript up to the factory: a C++
// function in the snapshot would need an external reference registered
// with the SnapshotCreator (V8 aborts without one). Natives reach the
// prelude only as the factory's argument, per plugin.
// Internal to the runtime.
#pragma once

#include <v8.h>

namespace patchbay {

// The startup snapshot with the base context, made on first use (once per
// process; thread-safe). Null when it could not be made: then isolates use
// V8's own and newBaseContext runs the scripts in each. Lives as long as the
// process.
v8::StartupData* runtimeSnapshot();  // (not const: V8 takes it so, and reads it only)

struct BaseContext {
  v8::Local<v8::Context> context;
  v8::Local<v8::Function> preludeFactory;  // prelude.js: (native) => the runtime's entry points
};

// A new base context in `isolate` (under its lock, in a HandleScope):
// deserialized when the isolate was made from runtimeSnapshot(), else built
// by running the scripts. False when a script threw (the exception is in the
// caller's TryCatch).
bool newBaseContext(v8::Isolate* isolate, bool fromSnapshot, BaseContext& out);

}  // namespace patchbay
