#pragma once
// base_url is a URL path, as in JupyterHub (whose own tests use "/@/space%20word/"). The
// router matches percent-decoded request paths (http::Context::path), so routes are
// registered under the decoded prefix; Locations, links, cookie paths and the OAuth
// redirect_uri carry the encoded one. A '%' that starts no escape is taken literally.
#include <boost/url/encode.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/pchars.hpp>

#include <string>
#include <string_view>

namespace nbhub::web {

// "/@/space%20word/" → "/@/space word/": the prefix of the paths the router sees.
inline std::string route_prefix(std::string const& base_url) {
  auto pct = boost::urls::make_pct_string_view(base_url);
  return pct ? pct->decode() : base_url;
}

// A decoded path made fit for a Location header or an href ('/' kept).
inline std::string path_encode(std::string_view decoded) {
  return boost::urls::encode(decoded, boost::urls::pchars + boost::urls::grammar::lut_chars('/'));
}

// "/@/space word/" or "/@/space%20word/" → "/@/space%20word/": the prefix of URLs we send.
inline std::string url_prefix(std::string const& base_url) { return path_encode(route_prefix(base_url)); }

}  // namespace nbhub::web
