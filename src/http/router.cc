#include <algorithm>
#include <ctime>

#include <condition_variable>
#include <mutex>

#include "http/responder_state.h"
#include "patchbay/http.h"
#include "patchbay/text.h"

namespace patchbay::http {

namespace {

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    out.emplace_back(path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return out;
}

}  // namespace

std::string Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (asciiEqualsIgnoringCase(k, name)) return v;
  }
  return "";
}

std::string Request::queryOr(const std::string& name, std::string fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

Response& Response::set(std::string name, std::string value) {
  for (auto& [k, v] : headers) {
    if (asciiEqualsIgnoringCase(k, name)) {
      v = std::move(value);
      return *this;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

std::string Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (asciiEqualsIgnoringCase(k, name)) return v;
  }
  return "";
}

Response Response::text(int status, std::string body, std::string contentType) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.set("Content-Type", std::move(contentType));
  return r;
}

Response Response::json(int status, std::string jsonText) { return text(status, std::move(jsonText), "application/json"); }

Response Response::error(int status, std::string_view code, std::string_view message, ErrorShape shape) {
  if (shape == ErrorShape::kMessage) return json(status, "{\"error\":" + jsonQuote(message) + "}");
  return json(status, "{\"error\":{\"code\":" + jsonQuote(code) + ",\"message\":" + jsonQuote(message) + "}}");
}

size_t jsonQuotedSize(std::string_view s) {
  size_t n = 2;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++n;
    } else if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') {
      n += 2;
    } else {
      n += 6;
    }
  }
  return n;
}

// As JSON.stringify quotes a string (the runtime writes changed hook
// contexts with it): runs of plain characters copied at once.
void appendJsonQuoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;  // start of the characters copied as they are
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(s.substr(run));
  out += '"';
}

std::string jsonQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  appendJsonQuoted(out, s);
  return out;
}

bool isToken(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || std::string_view("\"(),/:;<=>?@[\\]{}").find(c) != std::string_view::npos) return false;
  }
  return true;
}

bool isFieldValue(std::string_view v) {
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

std::optional<std::pair<uint64_t, uint64_t>> parseByteRange(std::string_view header, uint64_t size) {
  if (!header.starts_with("bytes=") || header.find(',') != std::string_view::npos) return std::nullopt;
  std::string_view spec = header.substr(6);
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto number = [](std::string_view s) -> std::optional<uint64_t> {
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    uint64_t n = 0;
    for (char c : s) n = n * 10 + static_cast<uint64_t>(c - '0');
    return n;
  };
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  if (a.empty()) {  // a suffix: the last n bytes
    auto n = number(b);
    if (!n) return std::nullopt;
    if (*n == 0 || size == 0) return std::make_pair(size, size);
    uint64_t len = std::min(*n, size);
    return std::make_pair(size - len, size - 1);
  }
  auto first = number(a);
  if (!first) return std::nullopt;
  if (*first >= size) return std::make_pair(size, size);
  uint64_t last = size - 1;
  if (!b.empty()) {
    auto l = number(b);
    if (!l || *l < *first) return std::nullopt;
    last = std::min(*l, size - 1);
  }
  return std::make_pair(*first, last);
}

std::string httpDate(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

void Router::add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  routes_.push_back({std::move(method), splitPath(pattern), std::move(handler), nullptr, std::move(options), nullptr});
}

void Router::addAsync(std::string method, std::string pattern, AsyncHandler handler, RouteOptions options) {
  routes_.push_back({std::move(method), splitPath(pattern), nullptr, std::move(handler), std::move(options), nullptr});
}

void Router::addWebSocket(std::string pattern, WebSocketAccept accept, WebSocketOptions options) {
  auto upgradeRequired = [this](Request& request) {
    return Response::error(426, "upgrade_required", request.path + " is a WebSocket endpoint: connect with a WebSocket client", errorShape_)
        .set("Upgrade", "websocket");
  };
  Route route;
  route.method = "GET";
  route.segments = splitPath(pattern);
  route.handler = std::move(upgradeRequired);
  route.webSocket = std::make_shared<WebSocketRoute>(WebSocketRoute{std::move(accept), options});
  routes_.push_back(std::move(route));
}

const WebSocketRoute* Router::webSocket(Request& head) const {
  Response refusal;
  const Route* route = match(head, refusal);
  return route ? route->webSocket.get() : nullptr;
}

void Router::setPageFallback(Handler handler) {
  pageFallback_ = Route{"GET", {}, std::move(handler), nullptr, {}, nullptr};
}

const Router::Route* Router::match(Request& request, Response& refusal) const {
  std::vector<std::string> parts = splitPath(request.path);
  std::string allowed;
  const std::string method = request.method == "HEAD" ? "GET" : request.method;
  for (const auto& route : routes_) {
    // A last segment "{name...}" takes the rest of the path (zero or more
    // segments, as sent: not decoded).
    const bool rest = !route.segments.empty() && route.segments.back().ends_with("...}");
    const size_t fixed = rest ? route.segments.size() - 1 : route.segments.size();
    if (rest ? parts.size() < fixed : parts.size() != fixed) continue;
    std::map<std::string, std::string> params;
    bool match = true;
    for (size_t i = 0; i < fixed && match; ++i) {
      const std::string& seg = route.segments[i];
      if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
        if (parts[i].empty()) match = false;
        else params[seg.substr(1, seg.size() - 2)] = percentDecode(parts[i]);
      } else if (seg != parts[i]) {
        match = false;
      }
    }
    if (match && rest) {
      std::string tail;
      for (size_t i = fixed; i < parts.size(); ++i) tail += "/" + parts[i];
      const std::string& seg = route.segments.back();
      params[seg.substr(1, seg.size() - 5)] = tail;
    }
    if (!match) continue;
    if (route.method != method && route.method != "*") {
      if (allowed.find(route.method) == std::string::npos) allowed += (allowed.empty() ? "" : ", ") + route.method;
      continue;
    }
    request.params = std::move(params);
    return &route;
  }
  if (allowed.empty() && pageFallback_ && method == "GET") {
    request.params.clear();
    return &*pageFallback_;
  }
  if (!allowed.empty()) {
    refusal = Response::error(405, "method_not_allowed", request.method + " is not allowed on " + request.path, errorShape_);
    refusal.set("Allow", allowed);
  } else {
    refusal = Response::error(404, "not_found", "no such endpoint: " + request.path, errorShape_);
  }
  return nullptr;
}

uint64_t Router::bodyLimit(Request& head) const {
  Response refusal;
  const Route* route = match(head, refusal);
  if (!route) return 0;
  return route->options.decide ? route->options.decide(head) : route->options.maxBodyBytes;
}

void Router::serve(Request& request, Responder responder) const {
  Response refusal;
  const Route* route = match(request, refusal);
  if (!route) return responder.send(std::move(refusal));
  if (route->handler) return responder.send(route->handler(request));
  route->asyncHandler(request, std::move(responder));
}

Response Router::dispatch(Request& request) const {
  Response refusal;
  const Route* route = match(request, refusal);
  if (!route) return refusal;
  if (route->handler) return route->handler(request);
  // An async handler, waited for: for callers without a server (tests, tools).
  struct Waiting {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<Response> answer;
  };
  auto waiting = std::make_shared<Waiting>();
  route->asyncHandler(request, Responder::to([waiting](Response r) {
    std::lock_guard lock(waiting->mutex);
    waiting->answer = std::move(r);
    waiting->cv.notify_all();
  }));
  std::unique_lock lock(waiting->mutex);
  waiting->cv.wait(lock, [&] { return waiting->answer.has_value(); });
  return std::move(*waiting->answer);
}

Responder Responder::to(std::function<void(Response)> deliver) {
  auto state = std::make_shared<State>();
  state->deliver = std::move(deliver);
  return Responder(std::move(state));
}

void Responder::send(Response response) const {
  if (!state_) return;
  state_->send(std::move(response));
}

Handler Router::handler() const {
  return [this](Request& r) { return dispatch(r); };
}

}  // namespace patchbay::http
