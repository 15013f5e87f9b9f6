#include "core/next_url.hpp"

#include <algorithm>
#include <cctype>

namespace nbhub {

namespace {
Error refuse(std::string why) { return Error{Errc::bad_request, "next URL refused: " + why}; }

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Result<std::string> validate_next_url(std::string_view raw, NextUrlPolicy const& policy) {
  if (raw.empty()) return refuse("it is empty");
  if (raw.size() > 2048) return refuse("it is longer than 2048 characters");
  for (unsigned char c : raw) {
    if (c < 0x20 || c == 0x7f) return refuse("it contains a control character");
    if (c == '\\') return refuse("it contains a backslash");
    if (c == ' ') return refuse("it contains a space");
  }
  // Encoded characters that browsers or our own decoder might turn into structure.
  for (std::size_t i = 0; i + 2 < raw.size() + 0 && i < raw.size(); ++i) {
    if (raw[i] != '%') continue;
    if (i + 2 >= raw.size() || hexval(raw[i + 1]) < 0 || hexval(raw[i + 2]) < 0)
      return refuse("it contains a malformed percent-escape");
    int v = hexval(raw[i + 1]) * 16 + hexval(raw[i + 2]);
    if (v < 0x20 || v == 0x7f) return refuse("it contains an encoded control character");
    if (v == '/' || v == '\\') return refuse("it contains an encoded slash or backslash");
    if (v == '%') return refuse("it contains a double-encoded character");
  }
  if (raw.front() != '/') return refuse("it is not a path on this hub (it must start with '/')");
  if (raw.size() > 1 && raw[1] == '/') return refuse("it starts with '//' (another host)");
  auto path_end = raw.find_first_of("?#");
  auto path = raw.substr(0, path_end);
  // `..` segments could climb out of base_url after normalisation.
  std::size_t pos = 0;
  while (pos <= path.size()) {
    auto next = path.find('/', pos);
    auto seg = path.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
    if (seg == ".." || seg == "." || seg == "%2e%2e" || seg == "%2E%2E")
      return refuse("it contains a '.' or '..' segment");
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  auto const& base = policy.base_url;
  if (!path.starts_with(base) && std::string(path) + "/" != base)
    return refuse("it is outside this hub's base URL " + base);
  return std::string(raw);
}

}  // namespace nbhub
