// A plugin's routes: requests dispatched on its executor, answers
// (native.done) checked and bounded.
#include <nlohmann/json.hpp>

#include "patchbay/json.h"
#include "runtime/plugin_http.h"
#include "runtime/plugin_impl.h"

namespace patchbay {

using json = nlohmann::json;
using Impl = PluginInstance::Impl;

namespace {

void nativeDone(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Impl* s = Impl::self(info);
  auto ticket = static_cast<uint64_t>(info[0]->NumberValue(info.GetIsolate()->GetCurrentContext()).FromMaybe(0));
  Completion c{info[1]->BooleanValue(info.GetIsolate()), s->arg(info, 2)};
  // A route's body: text or bytes, measured before it is copied out of
  // the isolate (a 500 MB rope of a string is small inside V8 and large
  // once flattened).
  if (info.Length() > 3 && !info[3]->IsUndefined()) {
    auto body = s->responseBody(info[3]);
    if (body) {
      c.body = std::move(*body);
    } else {
      s->log("error", "a route's answer was refused (the client got a 500): " + body.error().message);
      c = {false, json(body.error().message).dump()};
    }
  }
  s->deliver(ticket, std::move(c));
}

void nativeRoutesChanged(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Impl* s = Impl::self(info);
  s->setRouteCount(static_cast<size_t>(info[0]->NumberValue(info.GetIsolate()->GetCurrentContext()).FromMaybe(0)));
}

}  // namespace

Result<std::string> PluginInstance::Impl::responseBody(v8::Local<v8::Value> value) {
  const uint64_t max = limits.maxResponseBytes;
  auto tooLarge = [&] { return Error::limit("the response body is larger than " + std::to_string(max) + " bytes"); };
  if (value->IsArrayBufferView()) {
    auto view = value.As<v8::ArrayBufferView>();
    if (view->ByteLength() > max) return tooLarge();
    std::string out(view->ByteLength(), '\0');
    view->CopyContents(out.data(), out.size());
    return out;
  }
  if (value->IsArrayBuffer()) {
    auto buffer = value.As<v8::ArrayBuffer>();
    if (buffer->ByteLength() > max) return tooLarge();
    return std::string(static_cast<const char*>(buffer->Data()), buffer->ByteLength());
  }
  v8::Local<v8::String> text;
  if (!value->ToString(isolate->GetCurrentContext()).ToLocal(&text))
    return Error::invalid("the response body is not text");
  if (static_cast<uint64_t>(text->Length()) > max) return tooLarge();  // every UTF-16 unit is at least one byte
  std::string out = toUtf8(isolate, text);
  if (out.size() > max) return tooLarge();
  return out;
}

// `data` as a Uint8Array for the plugin, over memory of its own (outside
// the plugin's ArrayBuffer cap, which it cannot grow: the size is bounded
// by the caller).
v8::Local<v8::Value> PluginInstance::Impl::bytes(const std::string& data) {
  auto* copy = new std::string(data);
  auto store = v8::ArrayBuffer::NewBackingStore(
      copy->data(), copy->size(), [](void*, size_t, void* owner) { delete static_cast<std::string*>(owner); }, copy);
  auto buffer = v8::ArrayBuffer::New(isolate, std::shared_ptr<v8::BackingStore>(std::move(store)));
  return v8::Uint8Array::New(buffer, 0, data.size());
}

void api::addHttp(Natives& natives) {
  natives.add<nativeDone>("done");
  natives.add<nativeRoutesChanged>("routesChanged");
}

void PluginInstance::request(PluginRequest r, RequestDone done) {
  Impl* m = impl_.get();
  const std::string& id = manifest_.id;
  if (failed()) return done(Error::unsupported("plugin \"" + id + "\" has failed: " + failure()));
  auto prepared = dispatchedRequest(r);
  if (!prepared) return done(pluginErrorResponse(400, prepared.error().message));
  if (m->requestsInFlight.fetch_add(1) >= m->limits.maxRequestsInFlight) {
    m->requestsInFlight.fetch_sub(1);
    PluginResponse busy =
        pluginErrorResponse(503, "Plugin \"" + id + "\" is busy: " + std::to_string(m->limits.maxRequestsInFlight) +
                                     " requests are already waiting for it");
    busy.headers.emplace_back("retry-after", "1");
    return done(std::move(busy));
  }
  const uint64_t ticket = m->nextTicketId.fetch_add(1);
  const auto due = std::chrono::steady_clock::now() + m->limits.requestTimeout;
  {
    std::lock_guard lock(m->deadlineMu);
    m->requestDeadlines.emplace(due, ticket);
  }
  if (m->host.watchdog) m->host.watchdog->ring();  // its deadline is timed from now
  {
    std::lock_guard lock(m->ticketMu);
    m->tickets[ticket] = [m, id, ticket, due, done = std::move(done)](Completion c) {
      m->requestsInFlight.fetch_sub(1);
      if (c.ended != Completion::Ended::kTimedOut) m->forgetDeadline(due, ticket);
      switch (c.ended) {
        case Completion::Ended::kStopped:
          return done(Error::unsupported(failureText(c)));
        case Completion::Ended::kTimedOut:
          m->log("warn", "a request was answered 504: the plugin " + failureText(c));
          return done(pluginErrorResponse(504, "Plugin \"" + id + "\" " + failureText(c)));
        case Completion::Ended::kAnswered:
          break;
      }
      if (!c.ok) return done(pluginErrorResponse(500, "Internal plugin error", failureText(c)));
      auto checked = checkedResponse(c.json, std::move(c.body));
      if (!checked) {
        m->log("error", "a route's answer was refused (the client got a 500): " + checked.error().message);
        return done(pluginErrorResponse(500, "Internal plugin error", checked.error().message));
      }
      done(std::move(*checked));
    };
  }
  m->post([m, ticket, prepared = std::move(*prepared), body = std::move(r.body)] {
    {
      std::lock_guard lock(m->ticketMu);
      if (!m->tickets.count(ticket))
        return;  // answered already (its deadline passed while it queued): not run for nothing
    }
    const bool ran = m->runJs(
        [&](v8::Local<v8::Context> ctx) {
          v8::Local<v8::Value> args[] = {
              v8::Number::New(m->isolate, static_cast<double>(ticket)), v8str(m->isolate, prepared.requestJson),
              prepared.bodyIsText ? v8str(m->isolate, body).As<v8::Value>() : m->bytes(body)};
          m->callEntry(ctx, "dispatch", args, 3);
        },
        ticket);
    if (!ran)
      m->complete(ticket, {false, json("plugin \"" + m->manifest.id + "\" has stopped").dump(), "",
                           Completion::Ended::kStopped});
  });
}

}  // namespace patchbay
