#pragma once
// HTML text and attribute escaping (& < > " '), shared by the pages (web/) and the form
// fragments spawners offer (Spawner::options_form).
#include <string>
#include <string_view>

namespace nbhub {

inline std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace nbhub
