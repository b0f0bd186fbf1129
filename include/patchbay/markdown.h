// patchbay/markdown.h — README rendering.
#pragma once

#include <string>
#include <string_view>

namespace patchbay {

// CommonMark to HTML with cmark in its safe mode: raw HTML in the source is
// dropped, and links or images with javascript:, vbscript:, file: or
// (non-image) data: URLs lose their URL. The result can be put into a page.
std::string renderMarkdown(std::string_view markdown);

}  // namespace patchbay
