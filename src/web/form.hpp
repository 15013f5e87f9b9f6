#pragma once
#include <map>
#include <string>
#include <string_view>

namespace nbhub::web {
// application/x-www-form-urlencoded body → decoded fields ('+' is a space).
std::multimap<std::string, std::string> parse_form(std::string_view body);
std::string url_encode(std::string_view s);
}  // namespace nbhub::web
