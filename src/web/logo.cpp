#include "web/logo.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <utility>

#include "core/crypto.hpp"
#include "web/base_url.hpp"

namespace nbhub::web {

namespace net = boost::asio;

namespace {

constexpr std::uintmax_t kMaxLogoBytes = 8u << 20;

// A hub with spokes, in the pages' accent colour, and the name. Drawn for the 28-36 px high
// slots of the hub's and the notebook's headers.
constexpr std::string_view kMark =
    R"(<svg xmlns="http://www.w3.org/2000/svg" width="150" height="40" viewBox="0 0 150 40" role="img" aria-label="nbhub">)"
    R"(<rect x="2" y="2" width="36" height="36" rx="9" fill="#0b5cad"/>)"
    R"(<path d="M20 21L10 11M20 21l10-10M20 21v10" stroke="#fff" stroke-width="2.6" stroke-linecap="round"/>)"
    R"(<g fill="#fff"><circle cx="20" cy="21" r="5"/><circle cx="10" cy="11" r="3"/><circle cx="30" cy="11" r="3"/><circle cx="20" cy="31" r="3"/></g>)"
    R"(<text x="46" y="28" font-family="system-ui,-apple-system,'Segoe UI',Roboto,sans-serif" font-size="22" font-weight="700" fill="#1d232a">nbhub</text>)"
    R"(</svg>)"
    "\n";

std::string etag_of(std::string_view body) {
  return "\"" + crypto::hex_encode(crypto::sha256(body)).substr(0, 16) + "\"";
}

std::string content_type_for(std::filesystem::path const& p) {
  auto ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".gif") return "image/gif";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".webp") return "image/webp";
  return "";
}

Error bad_logo(std::string const& path, std::string_view why) {
  return Error{Errc::config, fmt::format("logo_file \"{}\": {}", path, why)};
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  // RFC 9110 §13.1.2: a list of entity tags, weak comparison, or "*".
  std::size_t pos = 0;
  while (pos < if_none_match.size()) {
    auto end = if_none_match.find(',', pos);
    if (end == std::string_view::npos) end = if_none_match.size();
    auto tag = if_none_match.substr(pos, end - pos);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    pos = end + 1;
  }
  return false;
}

}  // namespace

Logo default_logo() {
  std::string body(kMark);
  auto etag = etag_of(body);
  return Logo{std::move(body), "image/svg+xml", std::move(etag)};
}

Result<Logo> load_logo(std::string const& path) {
  if (path.empty()) return default_logo();
  namespace fs = std::filesystem;
  auto type = content_type_for(path);
  if (type.empty())
    return bad_logo(path, "not an image type nbhub serves; use a .svg, .png, .jpg, .gif, .ico or "
                          ".webp file");
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) return bad_logo(path, "no such file");
  if (ec) return bad_logo(path, "cannot be read: " + ec.message());
  if (!fs::is_regular_file(status)) return bad_logo(path, "not a regular file");
  auto size = fs::file_size(path, ec);
  if (ec) return bad_logo(path, "cannot read its size: " + ec.message());
  if (size == 0) return bad_logo(path, "the file is empty");
  if (size > kMaxLogoBytes) return bad_logo(path, "larger than 8 MiB; use a smaller image");
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad_logo(path, fmt::format("cannot be opened: {}", std::strerror(errno)));
  std::ostringstream body;
  body << in.rdbuf();
  if (!in && !in.eof()) return bad_logo(path, "reading it failed");
  auto text = std::move(body).str();
  auto etag = etag_of(text);
  return Logo{std::move(text), std::move(type), std::move(etag)};
}

void add_logo_route(http::Router& router, std::string const& base_url, Logo logo) {
  auto shared = std::make_shared<Logo const>(std::move(logo));
  router.get(route_prefix(base_url) + "hub/logo", [shared](http::Context& ctx) -> net::awaitable<http::Response> {
    bool const fresh = etag_matches(ctx.header("If-None-Match"), shared->etag);
    auto res = http::text_response(fresh ? 304 : 200, fresh ? std::string{} : shared->body, shared->content_type);
    res.set(http::bhttp::field::etag, shared->etag);
    res.set(http::bhttp::field::cache_control, "public, max-age=3600");
    // Never a document: a script in an SVG opened on its own does not run.
    res.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    co_return res;
  });
}

}  // namespace nbhub::web
