#include "hub/server_names.hpp"

namespace nbhub::hub {

namespace {
bool lower(char c) { return c >= 'a' && c <= 'z'; }
bool digit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

bool is_strict_server_name(std::string_view n) {
  if (n.empty() || n.size() > 30) return false;
  if (!lower(n.front()) || !(lower(n.back()) || digit(n.back()))) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    if (c == '-') {
      if (i > 0 && n[i - 1] == '-') return false;
    } else if (!lower(c) && !digit(c)) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> display_name_problem(std::string_view s) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) ++chars;
    if (c < 0x20 || c == 0x7f) return "it may not contain control characters or whitespace other than spaces";
    // C1 controls U+0080..U+009F are C2 80..C2 9F in UTF-8.
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9F)
      return "it may not contain control characters";
  }
  if (chars < 1 || chars > 255) return "it must be 1 to 255 characters long";
  if (s.front() == ' ' || s.back() == ' ' || s.find("  ") != std::string_view::npos)
    return "it may not start or end with a space or hold two spaces in a row";
  return std::nullopt;
}

}  // namespace nbhub::hub
