#include "runtime/plugin_http.h"

#include <nlohmann/json.hpp>

#include "patchbay/http.h"
#include "patchbay/json.h"
#include "patchbay/text.h"

namespace patchbay {

namespace {

using json = nlohmann::json;


// Content types whose bodies are text for the plugin (a string, parsed when
// JSON); anything else reaches it as bytes.
bool textContentType(const std::string& contentType) {
  const std::string t = asciiLower(contentType.substr(0, contentType.find(';')));
  return t.empty() || t.starts_with("text/") || t == "application/json" || t.ends_with("+json") || t == "application/x-www-form-urlencoded" ||
         t == "application/xml" || t.ends_with("+xml") || t == "application/javascript";
}

}  // namespace

PluginResponse pluginErrorResponse(int status, const std::string& error, const std::string& message) {
  PluginResponse r;
  r.status = status;
  r.headers = {{"content-type", "application/json; charset=utf-8"}};
  json body = {{"error", error}};
  if (!message.empty()) body["message"] = message;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

Result<DispatchedRequest> dispatchedRequest(const PluginRequest& r) {
  json query = json::object(), headers = json::object();
  // A key given more than once is an array of its values (as Express's).
  for (const auto& [k, v] : r.query) {
    auto it = query.find(k);
    if (it == query.end()) {
      query[k] = v;
    } else {
      if (!it->is_array()) *it = json::array({*it});
      it->push_back(v);
    }
  }
  std::string contentType;
  for (const auto& [k, v] : r.headers) {
    headers[k] = v;
    if (k == "content-type") contentType = v;
  }
  std::string url = r.path;
  if (!r.query.empty()) {
    url += '?';
    for (size_t i = 0; i < r.query.size(); ++i) url += (i ? "&" : "") + r.query[i].first + "=" + r.query[i].second;
  }
  DispatchedRequest out;
  out.bodyIsText = textContentType(contentType) && isUtf8(r.body);
  const std::string type = asciiLower(contentType);
  if (out.bodyIsText && type.find("json") != std::string::npos && jsonNestsDeeperThan(r.body)) {
    return Error::invalid("the request body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  json user = parseJsonOrDiscarded<json>(r.userJson);
  // From an embedding panel the strings may be anything: ill-formed UTF-8
  // becomes U+FFFD rather than an exception.
  out.requestJson = json{{"method", r.method}, {"path", r.path}, {"url", url}, {"query", query}, {"headers", headers}, {"ip", r.remoteAddress},
                         {"user", user.is_discarded() ? json(nullptr) : user}}
                        .dump(-1, ' ', false, json::error_handler_t::replace);
  return out;
}

Result<PluginResponse> checkedResponse(const std::string& envelopeJson, std::string body) {
  json res = parseJsonOrDiscarded<json>(envelopeJson);
  if (!res.is_object()) return Error::internal("the route gave no response");
  PluginResponse out;
  const json status = res.value("status", json(200));
  if (!status.is_number_integer() || status.get<int64_t>() < 200 || status.get<int64_t>() > 599) {
    return Error::invalid("status " + status.dump() + " is not a final HTTP status (200-599)");
  }
  out.status = status.get<int>();
  if (res.contains("headers") && res["headers"].is_object()) {
    for (const auto& [k, v] : res["headers"].items()) {
      std::string value = v.is_string() ? v.get<std::string>() : v.dump();
      if (!http::isToken(k)) return Error::invalid("response header name " + json(k).dump() + " is not an HTTP token");
      if (!http::isFieldValue(value)) return Error::invalid("response header \"" + k + "\" has CR, LF or NUL in its value");
      out.headers.emplace_back(k, std::move(value));
    }
  }
  if (out.status == 204 || out.status == 304) body.clear();  // no body, whatever was sent
  out.body = std::move(body);
  return out;
}

}  // namespace patchbay
