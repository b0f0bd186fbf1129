// fetch: outbound HTTP for plugins with the permission or a grant, performed
// on worker threads.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "patchbay/http.h"
#include "patchbay/http_client.h"
#include "patchbay/json.h"
#include "runtime/plugin_impl.h"

namespace patchbay {

using json = nlohmann::json;
using Impl = PluginInstance::Impl;

namespace {

// fetch(id, url, method, headersJson, body): checked here, performed on a
// worker thread, answered by a task that calls the prelude's fetchDone.
void nativeFetch(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Impl* s = Impl::self(info);
  auto id = static_cast<int64_t>(info[0]->NumberValue(info.GetIsolate()->GetCurrentContext()).FromMaybe(0));
  std::string url = s->arg(info, 1), method = s->arg(info, 2), headersJson = s->arg(info, 3), body = s->arg(info, 4);
  const FetchGrant access = s->host.fetchAccess ? s->host.fetchAccess() : FetchGrant{false, {}};
  if (!access.allowed) {
    return s->throwError("fetch is not allowed: plugin \"" + s->manifest.id +
                         "\" needs the \"webhooks:send\" permission in its manifest or an administrator's grant");
  }
  // The host as libcurl, which makes the request, reads it: a grant by
  // host cannot be slipped past with a URL another parser reads otherwise.
  auto parsed = http::parseHttpUrl(url);
  if (!parsed) return s->throwError("fetch: " + parsed.error().message);
  const std::string& hostName = parsed->host;
  if (!access.hosts.empty() && std::find(access.hosts.begin(), access.hosts.end(), hostName) == access.hosts.end()) {
    return s->throwError("fetch: host \"" + hostName + "\" is not among the hosts granted to plugin \"" +
                         s->manifest.id + "\"");
  }
  // What goes into the request line and headers is HTTP's, checked here:
  // a CR or LF in a method or header would write lines of its own.
  if (!http::isToken(method))
    return s->throwTypeError("fetch: the method " + json(method).dump() + " is not an HTTP token");
  http::ClientRequest request;
  request.method = method;
  request.url = url;
  request.body = body;
  request.timeout = s->host.fetchTimeout;
  request.maxResponseBytes = s->host.fetchMaxBytes;
  json headers = parseJsonOrDiscarded<json>(headersJson);
  if (headers.is_array()) {
    for (const auto& h : headers) {
      if (!(h.is_array() && h.size() == 2 && h[0].is_string() && h[1].is_string())) continue;
      const std::string &name = h[0].get_ref<const std::string&>(), &value = h[1].get_ref<const std::string&>();
      if (!http::isToken(name))
        return s->throwTypeError("fetch: the header name " + json(name).dump() + " is not an HTTP token");
      if (!http::isFieldValue(value)) {
        return s->throwTypeError("fetch: the value of header \"" + name + "\" holds a control character (CR, LF, NUL)");
      }
      request.headers.emplace_back(name, value);
    }
  }
  std::lock_guard lock(s->fetchMu);
  std::erase_if(s->fetchers, [](Impl::Fetcher& f) {
    if (!f.done->load()) return false;
    f.thread.join();
    return true;
  });
  auto done = std::make_shared<std::atomic<bool>>(false);
  s->fetchers.push_back(
      {std::thread([s, id, request, done] {
         auto response = http::fetch(request);
         bool ok = response.ok();
         std::string result;
         if (ok) {
           json hs = json::array();
           for (const auto& [k, v] : response->headers) hs.push_back({k, v});
           result =
               json{{"status", response->status}, {"url", request.url}, {"headers", hs}, {"body", response->body}}.dump(
                   -1, ' ', false, json::error_handler_t::replace);
         } else {
           result = json(response.error().message).dump();
         }
         s->post([s, id, ok, result] {
           s->runJs([&](v8::Local<v8::Context> ctx) {
             s->callEntry(ctx, "fetchDone",
                          {v8::Number::New(s->isolate, static_cast<double>(id)), v8::Boolean::New(s->isolate, ok),
                           v8str(s->isolate, result)});
           });
         });
         *done = true;
       }),
       done});
}

}  // namespace

void api::addFetch(Natives& natives) { natives.add<nativeFetch>("fetch"); }

}  // namespace patchbay
