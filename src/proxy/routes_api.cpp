#include "proxy/routes_api.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/utf8.hpp"

#include <charconv>
#include <ctime>

#include "core/crypto.hpp"

namespace nbhub::proxy {

namespace net = boost::asio;
namespace json = boost::json;

namespace {

json::object route_json(Route const& r) {
  json::object o = r.data();
  o["target"] = r.target().url;
  o["last_activity"] = format_iso8601(r.last_activity());
  return o;
}

// Digits at s[pos, pos+n) as a number, or -1.
int digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  auto [end, ec] = std::from_chars(s.data() + pos, s.data() + pos + n, v);
  return ec == std::errc() && end == s.data() + pos + n ? v : -1;
}

}  // namespace

std::string format_iso8601(Clock::SysTime t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  auto secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ((ms % 1000) + 1000) % 1000);
}

std::optional<Clock::SysTime> parse_iso8601(std::string_view s) {
  std::tm tm{};
  int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || s[4] != '-' || s[7] != '-') return std::nullopt;
  // SysTime counts nanoseconds in 64 bits (1677-2262): later years overflowed the conversion.
  if (y < 1900 || y > 2200) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  std::size_t i = 10;
  long long millis = 0;
  long offset_min = 0;
  if (i < s.size() && (s[i] == 'T' || s[i] == ' ')) {
    int h = digits(s, i + 1, 2), mi = digits(s, i + 4, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || s[i + 3] != ':') return std::nullopt;
    tm.tm_hour = h;
    tm.tm_min = mi;
    i += 6;
    if (i < s.size() && s[i] == ':') {
      int sec = digits(s, i + 1, 2);
      if (sec < 0 || sec > 60) return std::nullopt;
      tm.tm_sec = sec;
      i += 3;
      if (i < s.size() && s[i] == '.') {
        std::size_t j = i + 1;
        long long scale = 100;
        while (j < s.size() && s[j] >= '0' && s[j] <= '9') {
          millis += (s[j] - '0') * scale;
          scale /= 10;
          ++j;
        }
        if (j == i + 1) return std::nullopt;
        i = j;
      }
    }
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
      ++i;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      int oh = digits(s, i + 1, 2), om = digits(s, i + 4, 2);
      if (oh < 0 || om < 0 || s[i + 3] != ':') return std::nullopt;
      offset_min = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
      i += 6;
    }
  }
  if (i != s.size()) return std::nullopt;
  auto secs = timegm(&tm);
  return Clock::SysTime(std::chrono::seconds(secs) - std::chrono::minutes(offset_min) +
                        std::chrono::milliseconds(millis));
}

RoutesApi::RoutesApi(RouteTable& routes, Secret token, spdlog::logger& log)
    : routes_(routes), token_(std::move(token)), log_(log) {}

bool RoutesApi::authorized(http::Context const& ctx) const {
  if (token_.empty()) return true;  // CHP without CONFIGPROXY_AUTH_TOKEN: open (startup warns)
  auto header = ctx.header("authorization");
  // Only the "token" scheme, as CHP.
  constexpr std::string_view scheme = "token ";
  if (header.size() <= scheme.size() || !boost::beast::iequals(header.substr(0, scheme.size()), scheme))
    return false;
  auto given = std::string_view(header).substr(scheme.size());
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  // Compare digests so that the comparison's time says nothing about the token's length.
  return crypto::equal_ct(crypto::sha256(given), crypto::sha256(token_.reveal()));
}

http::Response RoutesApi::list(http::Context const& ctx) const {
  auto since = ctx.query_param("inactive_since");
  if (!since) since = ctx.query_param("inactiveSince");
  std::vector<RoutePtr> chosen;
  if (since) {
    auto t = parse_iso8601(*since);
    if (!t) return http::json_error(400, fmt::format("Invalid datestamp '{}': use ISO 8601", *since));
    chosen = routes_.inactive_since(*t);
  } else {
    chosen = routes_.snapshot()->routes();
  }
  json::object out;
  for (auto const& r : chosen) out[r->prefix()] = route_json(*r);
  return http::json_response(200, json::serialize(out));
}

http::Response RoutesApi::get_one(std::string const& path) const {
  auto r = routes_.get(path);
  if (!r) return http::json_error(404, fmt::format("No route for {}", normalize_prefix(path)));
  return http::json_response(200, json::serialize(route_json(*r)));
}

http::Response RoutesApi::add(http::Context const& ctx, std::string const& path) {
  boost::system::error_code ec;
  auto body = json::parse(ctx.req.body(), ec);
  if (ec || !body.is_object()) return http::json_error(400, "The body must be a JSON object.");
  auto& obj = body.as_object();
  auto const* target = obj.if_contains("target");
  if (!target || !target->is_string()) return http::json_error(400, "Must specify 'target' as a string.");
  std::string url(target->as_string());
  obj.erase("target");
  obj.erase("last_activity");
  // CHP validates nothing but the type: a target nbhub cannot relay to is stored and listed,
  // and requests on its route are answered 502 (proxy.hpp).
  auto added = routes_.add(path, url, std::move(obj), UnrelayableTarget::store);
  if (!added) return http::json_error(400, added.error().message);
  log_.info("Adding route {} -> {}", (*added)->prefix(), url);
  if (auto const& why = (*added)->target().unrelayable; !why.empty())
    log_.warn("Route {}: requests will be answered 502: {}", (*added)->prefix(), why);
  auto res = http::json_response(201, "");
  res.erase(boost::beast::http::field::content_type);
  return res;
}

http::Response RoutesApi::remove(std::string const& path) {
  if (!routes_.remove(path))
    return http::json_error(404, fmt::format("No route for {}", normalize_prefix(path)));
  log_.info("Removing route {}", normalize_prefix(path));
  auto res = http::json_response(204, "");
  res.erase(boost::beast::http::field::content_type);
  return res;
}

void RoutesApi::install(http::Router& router) {
  // Every handler checks the token before it reads anything else.
  auto guard = [this](auto fn) {
    return [this, fn](http::Context& ctx) -> net::awaitable<http::Response> {
      if (!authorized(ctx)) co_return http::json_error(403, "Missing or wrong Authorization: token.");
      // A route's path is a JSON key in every listing: it must be text.
      for (auto const& p : ctx.params)
        if (!valid_utf8(p)) co_return http::json_error(400, "The route's path is not valid UTF-8 once percent-decoded.");
      co_return fn(ctx);
    };
  };
  auto tail = [](http::Context const& ctx) {
    return ctx.params.empty() ? std::string("/") : "/" + ctx.params.back();
  };
  router.get("/api/routes", guard([this](http::Context& ctx) { return list(ctx); }));
  // CHP answers GET /api/routes/ (an empty or "/" path) with the whole table, not the "/" route.
  router.get("/api/routes/*", guard([this, tail](http::Context& ctx) {
               auto path = tail(ctx);
               return path == "/" ? list(ctx) : get_one(path);
             }));
  router.post("/api/routes/*", guard([this, tail](http::Context& ctx) { return add(ctx, tail(ctx)); }));
  router.add(boost::beast::http::verb::delete_, "/api/routes/*",
             guard([this, tail](http::Context& ctx) { return remove(tail(ctx)); }));
}

}  // namespace nbhub::proxy
