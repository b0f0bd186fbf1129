// A plugin's code: server.js as an ES module and the files it imports,
// relative paths inside the plugin's folder only.
#include <sys/stat.h>

#include <filesystem>

#include "patchbay/files.h"
#include "runtime/plugin_impl.h"

namespace patchbay {

namespace fs = std::filesystem;

// The file an import names, or an error message. Only relative imports
// inside the plugin's folder are allowed.
Result<std::string> PluginInstance::Impl::resolvePath(const std::string& specifier, const std::string& referrer) {
  if (!(specifier.starts_with("./") || specifier.starts_with("../"))) {
    return Error::denied("Cannot import \"" + specifier + "\" from " + relative(referrer) +
                         ": plugins may only import their own files with relative paths (\"./lib.js\"); "
                         "Node modules, bare names and absolute paths are not available");
  }
  fs::path candidate = (fs::path(referrer).parent_path() / specifier).lexically_normal();
  std::error_code ec;
  fs::path real = fs::weakly_canonical(candidate, ec);
  std::string r = real.string();
  if (ec || !(r == realDir || r.starts_with(realDir + "/"))) {
    return Error::denied("Cannot import \"" + specifier + "\" from " + relative(referrer) +
                         ": it is outside the plugin's folder");
  }
  struct stat st;
  if (::stat(r.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Error::notFound("Cannot import \"" + specifier + "\" from " + relative(referrer) + ": no such file");
  }
  return r;
}

std::string PluginInstance::Impl::relative(const std::string& path) const {
  return path.starts_with(realDir + "/") ? path.substr(realDir.size() + 1) : path;
}

v8::MaybeLocal<v8::Module> PluginInstance::Impl::loadModule(const std::string& path) {
  if (auto it = modulesByPath.find(path); it != modulesByPath.end()) return it->second.Get(isolate);
  auto source = readFileLimited(path, kMaxModuleBytes);
  if (!source) {
    throwError(source.error().message);
    return {};
  }
  v8::ScriptOrigin origin(isolate, v8str(isolate, relative(path)), 0, 0, false, -1, v8::Local<v8::Value>(), false,
                          false, true);
  v8::ScriptCompiler::Source src(v8str(isolate, *source), origin);
  v8::Local<v8::Module> module;
  if (!v8::ScriptCompiler::CompileModule(isolate, &src).ToLocal(&module)) return {};
  modulesByPath[path].Reset(isolate, module);
  pathByModuleHash.emplace(module->GetIdentityHash(), path);
  return module;
}

v8::MaybeLocal<v8::Module> PluginInstance::Impl::resolveModule(v8::Local<v8::Context> ctx,
                                                               v8::Local<v8::String> specifier,
                                                               v8::Local<v8::FixedArray>,
                                                               v8::Local<v8::Module> referrer) {
  v8::Isolate* isolate = ctx->GetIsolate();
  Impl* s = static_cast<Impl*>(isolate->GetData(0));
  std::string referrerPath = s->realDir + "/server.js";
  auto range = s->pathByModuleHash.equal_range(referrer->GetIdentityHash());
  for (auto it = range.first; it != range.second; ++it) {
    if (s->modulesByPath[it->second].Get(isolate) == referrer) referrerPath = it->second;
  }
  auto path = s->resolvePath(toUtf8(isolate, specifier), referrerPath);
  if (!path) {
    s->throwError(path.error().message);
    return {};
  }
  return s->loadModule(*path);
}

v8::MaybeLocal<v8::Promise> PluginInstance::Impl::dynamicImport(v8::Local<v8::Context> ctx, v8::Local<v8::Data>,
                                                                v8::Local<v8::Value>, v8::Local<v8::String> specifier,
                                                                v8::Local<v8::FixedArray>) {
  v8::Isolate* isolate = ctx->GetIsolate();
  auto resolver = v8::Promise::Resolver::New(ctx).ToLocalChecked();
  resolver
      ->Reject(ctx, v8::Exception::Error(v8str(
                        isolate,
                        "import(\"" + toUtf8(isolate, specifier) +
                            "\") is not available to plugins: use a static import of a file in the plugin's folder")))
      .Check();
  return resolver->GetPromise();
}

}  // namespace patchbay
