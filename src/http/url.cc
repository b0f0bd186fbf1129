// Percent-decoding and query strings, with Boost.URL. Debian ships Boost.URL
// as headers and sources only (no libboost_url): its implementation is
// compiled here, once.
#include <boost/url/src.hpp>

#include "patchbay/http.h"
#include "patchbay/text.h"

namespace patchbay::http {

std::optional<std::string> percentDecoded(std::string_view s, bool plusIsSpace) {
  auto checked = boost::urls::make_pct_string_view(boost::urls::string_view(s.data(), s.size()));
  if (!checked) return std::nullopt;
  boost::urls::encoding_opts options;
  options.space_as_plus = plusIsSpace;
  boost::urls::decode_view decoded(*checked, options);
  return std::string(decoded.begin(), decoded.end());
}

std::string percentEncoded(std::string_view s, bool keepSlash) {
  static constexpr auto kPath = boost::urls::unreserved_chars + boost::urls::grammar::lut_chars('/');
  return keepSlash ? boost::urls::encode(boost::urls::string_view(s.data(), s.size()), kPath)
                   : boost::urls::encode(boost::urls::string_view(s.data(), s.size()), boost::urls::unreserved_chars);
}

std::string percentDecode(std::string_view s, bool plusIsSpace) {
  auto decoded = percentDecoded(s, plusIsSpace);
  return decoded ? std::move(*decoded) : std::string(s);
}

// Pairs split at '&' and the first '=' (RFC 3986's grammar of a query is
// stricter than what clients send: `{`, `|` and `[` arrive unescaped),
// each side decoded by Boost.URL with '+' as a space.
Result<std::vector<std::pair<std::string, std::string>>> parseQueryString(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos <= query.size() && !query.empty()) {
    const size_t amp = query.find('&', pos);
    std::string_view pair = query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      auto key = percentDecoded(pair.substr(0, eq), true);
      auto value = eq == std::string_view::npos ? std::optional<std::string>("") : percentDecoded(pair.substr(eq + 1), true);
      if (!key || !value) return Error::invalid("the query has a malformed percent-encoding (a '%' not followed by two hex digits)");
      if (!isUtf8(*key) || !isUtf8(*value)) return Error::invalid("a query parameter is not UTF-8 once percent-decoded");
      out.emplace_back(std::move(*key), std::move(*value));
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return out;
}

}  // namespace patchbay::http
