#include "web/form.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url.hpp>
#include <spdlog/spdlog.h>

#include "core/next_url.hpp"
#include "http/message.hpp"

namespace nbhub::web {

std::multimap<std::string, std::string> parse_form(std::string_view body) {
  std::multimap<std::string, std::string> out;
  boost::urls::url u;
  // Boost.URL 1.81's parse_query reads up to a NUL past the view it is given (strlen, found by
  // tests/fuzz/fuzz_form): hand it a terminated copy.
  std::string const text(body);
  auto q = boost::urls::parse_query(text);
  if (!q) return out;
  u.set_encoded_query(text);
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;
  for (auto p : u.params(opts)) out.emplace(p.key, p.value);
  return out;
}

std::string url_encode(std::string_view s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

std::string checked_next(http::Context const& ctx, std::string const& base_url, spdlog::logger& log) {
  auto raw = ctx.query_param("next");
  if (!raw || raw->empty()) return "";
  auto ok = validate_next_url(*raw, {base_url});
  if (!ok) {
    log.info("conn={} {}", ctx.conn_id, ok.error().message);
    return "";
  }
  return *ok;
}

}  // namespace nbhub::web
