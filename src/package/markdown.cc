#include "patchbay/markdown.h"

#include <cmark.h>

#include <cstdlib>

namespace patchbay {

std::string renderMarkdown(std::string_view markdown) {
  // Safe is cmark's default since 0.29; only CMARK_OPT_UNSAFE lets raw HTML through.
  static_assert(CMARK_VERSION >= 0x001d00, "cmark 0.29 or newer renders safely by default");
  char* html = cmark_markdown_to_html(markdown.data(), markdown.size(), CMARK_OPT_DEFAULT);
  if (html == nullptr) return {};
  std::string out(html);
  std::free(html);
  return out;
}

}  // namespace patchbay
