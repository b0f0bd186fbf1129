// The checks every panel route makes (panel_impl.h).
#include <sodium.h>
#include <strings.h>

#include "panel/panel_impl.h"

namespace patchbay::panel {


Response errorJson(int status, std::string_view message) { return Response::error(status, "", message, http::ErrorShape::kMessage); }

Response unavailableJson(std::string_view message) {
  Response r = errorJson(503, message);
  r.set("Retry-After", "1");
  return r;
}

// The value of cookie `name` in the request's Cookie headers, or "".
std::string cookieValue(const Request& request, std::string_view name) {
  for (const auto& [header, value] : request.headers) {
    if (header.size() != 6 || strncasecmp(header.c_str(), "cookie", 6) != 0) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t end = rest.find(';');
      std::string_view pair = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      const size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
    }
  }
  return "";
}

// The session a request came with: its Bearer token, else its cookie.
std::string sessionToken(const Request& request) {
  const std::string authorization = request.header("authorization");
  return authorization.starts_with("Bearer ") ? authorization.substr(7) : cookieValue(request, kSessionCookie);
}

// An Accounts error as Sodium answers it.
Response accountError(const Error& e) {
  switch (e.kind) {
    case ErrorKind::kInvalidInput: return errorJson(400, e.message);
    case ErrorKind::kUnauthenticated: return errorJson(401, e.message);
    case ErrorKind::kNotFound: return errorJson(404, e.message);
    case ErrorKind::kUnavailable: return unavailableJson(e.message);
    default: return errorJson(500, e.message);
  }
}

bool changesState(const Request& request) {
  return request.method != "GET" && request.method != "HEAD" && request.method != "OPTIONS";
}

// A page of another origin may not act here: an Origin, when sent, must be
// this panel's own (its host and port, as the browser reached them).
bool sameOrigin(const Request& request) {
  const std::string origin = request.header("origin");
  if (origin.empty()) return true;
  const size_t scheme = origin.find("://");
  if (scheme == std::string::npos) return false;  // "null" (a sandboxed page, a file) included
  return origin.substr(scheme + 3) == request.header("host");
}

size_t queryNumber(const Request& request, const std::string& name, size_t fallback, size_t max) {
  const std::string text = request.queryOr(name);
  size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || value > max) return fallback;
    value = value * 10 + static_cast<size_t>(c - '0');
  }
  return value == 0 ? fallback : std::min(value, max);
}

std::variant<User, Response> Panel::Impl::administrator(Panel& panel, const Request& request) {
  auto who = authenticate(panel, request);
  if (auto* refusal = std::get_if<Response>(&who)) return std::move(*refusal);
  User user = std::get<Caller>(who).user;
  if (!user.isAdmin()) return errorJson(403, "Admin access required");
  return user;
}

std::variant<Caller, Response> Panel::Impl::authenticate(Panel& panel, const Request& request) {
  const bool hasCredentials = request.header("authorization").starts_with("Bearer ") || !cookieValue(request, kSessionCookie).empty();
  if (!hasCredentials) return errorJson(401, "No token provided");
  auto caller = panel.caller(request);
  if (!caller) return errorJson(401, "Invalid or expired token");
  if (caller->byCookie && changesState(request)) {
    const std::string expected = cookieValue(request, kCsrfCookie);
    const std::string sent = request.header("x-csrf-token");
    if (!sameOrigin(request)) return errorJson(403, "Cross-origin request refused");
    if (expected.empty() || sent.size() != expected.size() || sodium_memcmp(sent.data(), expected.data(), sent.size()) != 0) {
      return errorJson(403, "Missing or wrong CSRF token (send the pb_csrf cookie's value as X-CSRF-Token)");
    }
  }
  return *caller;
}

}  // namespace patchbay::panel
