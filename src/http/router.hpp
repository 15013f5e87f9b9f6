#pragma once
// Maps (method, path) to a handler. Patterns are split by '/', a segment `{x}` captures one
// path segment, a final `*` captures the rest. Exact segments win over captures. Routes are
// registered at startup and read-only afterwards, so lookups need no lock.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace nbhub::http {

class Router {
 public:
  void add(bhttp::verb method, std::string pattern, Handler handler);
  void get(std::string pattern, Handler h) { add(bhttp::verb::get, std::move(pattern), std::move(h)); }
  void post(std::string pattern, Handler h) { add(bhttp::verb::post, std::move(pattern), std::move(h)); }
  void fallback(Handler h) { fallback_ = std::move(h); }
  // Runs on every response the router's handlers (and its 405s) give, before it is sent: for
  // headers that depend on the request rather than the route (CORS, web/cors.hpp). Set once at
  // startup; must not throw.
  using Decorator = std::function<void(Context const&, Response&)>;
  void decorate(Decorator d) { decorator_ = std::move(d); }
  Decorator const& decorator() const { return decorator_; }

  enum class Match { found, wrong_method, none };
  struct Lookup {
    Match match = Match::none;
    Handler const* handler = nullptr;
    std::vector<std::string> params;
    std::string allowed;  // for 405: "GET, POST"
    // The pattern as registered ("/hub/api/users/{name}"), for metrics; lives as long as the
    // router. Empty unless found.
    std::string_view pattern;
  };
  Lookup find(bhttp::verb method, std::string_view path) const;
  Handler const* fallback() const { return fallback_ ? &fallback_ : nullptr; }

 private:
  struct Route {
    bhttp::verb method;
    std::vector<std::string> segments;
    bool rest = false;
    Handler handler;
    std::string pattern;
  };
  static bool matches(Route const& r, std::vector<std::string_view> const& segs,
                      std::vector<std::string>& params);
  std::vector<Route> routes_;
  Handler fallback_;
  Decorator decorator_;
};

std::vector<std::string_view> split_path(std::string_view path);

}  // namespace nbhub::http
