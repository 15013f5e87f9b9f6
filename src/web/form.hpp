#pragma once
#include <map>
#include <string>
#include <string_view>

namespace spdlog { class logger; }
namespace nbhub::http { struct Context; }

namespace nbhub::web {
// application/x-www-form-urlencoded body → decoded fields ('+' is a space).
std::multimap<std::string, std::string> parse_form(std::string_view body);
std::string url_encode(std::string_view s);
// The request's `next` when it passes the redirect gate (core/next_url.hpp) for a hub under
// `base_url` (encoded); "" when absent or refused, a refusal logged with its reason.
std::string checked_next(http::Context const& ctx, std::string const& base_url, spdlog::logger& log);
}  // namespace nbhub::web
