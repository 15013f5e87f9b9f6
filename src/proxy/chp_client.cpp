#include "proxy/chp_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "proxy/routes_api.hpp"  // parse_iso8601

#include <cctype>
#include <set>
#include <utility>

namespace nbhub::proxy {

namespace net = boost::asio;
namespace json = boost::json;

namespace {

constexpr auto kFirstRetry = std::chrono::seconds(1);

}  // namespace

std::string chp_route_path(std::string_view prefix) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "/api/routes";
  if (prefix.empty() || prefix.front() != '/') out += '/';
  for (unsigned char c : prefix) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/' || c == '@') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

ChpClient::ChpClient(net::any_io_executor ex, ChpClientConfig cfg, RouteTable& routes,
                     http::HttpClient& http, spdlog::logger& log)
    : strand_(net::make_strand(ex)),
      cfg_(std::move(cfg)),
      routes_(routes),
      http_(http),
      log_(log),
      timer_(strand_) {
  while (!cfg_.api_url.empty() && cfg_.api_url.back() == '/') cfg_.api_url.pop_back();
}

ChpClient::~ChpClient() { routes_.set_observer(nullptr); }

void ChpClient::start() {
  routes_.set_observer(this);
  net::co_spawn(strand_, run(), [&log = log_](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (std::exception const& ex) {
      log.error("proxy mirror stopped: {}", ex.what());
    }
  });
}

void ChpClient::route_added(RoutePtr const& route) {
  if (route->is_default()) return;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= cfg_.max_queue) overflowed_ = true;
    else queue_.push_back(Change{true, route, {}});
  }
  wake();
}

void ChpClient::route_removed(std::string const& prefix) {
  if (prefix == "/") return;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= cfg_.max_queue) overflowed_ = true;
    else queue_.push_back(Change{false, nullptr, prefix});
  }
  wake();
}

void ChpClient::wake() {
  net::post(strand_, [this] { timer_.cancel(); });
}

net::awaitable<Result<http::ClientResponse>> ChpClient::call(std::string method, std::string path,
                                                             std::string body) {
  http::ClientRequest req;
  req.method = std::move(method);
  req.url = cfg_.api_url + path;
  if (!cfg_.token.empty()) req.headers.emplace_back("Authorization", "token " + cfg_.token.reveal());
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  req.body = std::move(body);
  req.timeout = cfg_.request_timeout;
  co_return co_await http_.send(std::move(req));
}

net::awaitable<bool> ChpClient::send_change(Change c) {
  auto prefix = c.add ? c.route->prefix() : c.prefix;
  std::string body;
  if (c.add) {
    json::object o = c.route->data();
    o["jupyterhub"] = true;
    o["target"] = c.route->target().url;
    body = json::serialize(o);
  }
  std::string method = c.add ? "POST" : "DELETE";
  auto path = chp_route_path(prefix);
  // Arguments as named locals, never temporaries inside a co_await expression (GCC 12 has
  // destroyed such temporaries twice).
  auto r = co_await call(method, path, std::move(body));
  if (!r) {
    log_.warn("proxy {}: {} {}: {}", cfg_.api_url, method, prefix, r.error().message);
    co_return false;
  }
  // CHP: 201 on POST, 204 on DELETE; a DELETE of a route already gone is fine (as JupyterHub).
  bool ok = c.add ? r->status / 100 == 2 : (r->status / 100 == 2 || r->status == 404);
  if (!ok)
    log_.warn("proxy {}: {} {} answered {}", cfg_.api_url, method, prefix, r->status);
  else
    log_.debug("proxy {}: {} {}", cfg_.api_url, method, prefix);
  co_return ok;
}

net::awaitable<Result<ReconcileStats>> ChpClient::reconcile() {
  std::string get = "GET", routes_path = "/api/routes", no_body;
  auto r = co_await call(get, routes_path, no_body);
  if (!r) co_return r.error();
  if (r->status != 200)
    co_return Error{Errc::bad_gateway,
                    fmt::format("proxy {}: GET /api/routes answered {}{}", cfg_.api_url, r->status,
                                r->status == 403 ? " (check CONFIGPROXY_AUTH_TOKEN)" : "")};
  boost::system::error_code ec;
  auto doc = json::parse(r->body, ec);
  if (ec || !doc.is_object())
    co_return Error{Errc::bad_gateway,
                    fmt::format("proxy {}: GET /api/routes did not return a JSON object", cfg_.api_url)};
  auto const& chp = doc.get_object();
  ReconcileStats stats;
  stats.chp_routes = chp.size();
  auto snap = routes_.snapshot();
  std::set<std::string, std::less<>> wanted;
  for (auto const& route : snap->routes()) {
    if (route->is_default()) continue;
    wanted.insert(route->prefix());
    auto it = chp.find(route->prefix());
    json::object const* have = it != chp.end() && it->value().is_object() ? &it->value().get_object() : nullptr;
    auto const* target = have ? have->if_contains("target") : nullptr;
    if (!have || !target || !target->is_string() || target->get_string() != route->target().url) {
      Change add{true, route, {}};
      if (co_await send_change(std::move(add))) ++stats.added;
      continue;
    }
    if (auto const* la = have->if_contains("last_activity"); la && la->is_string()) {
      auto t = parse_iso8601(std::string_view(la->get_string()));
      if (t && *t > route->last_activity()) {
        route->touch(*t);
        ++stats.activity;
      }
    }
  }
  for (auto const& [key, value] : chp) {
    if (key == "/" || wanted.count(std::string_view(key))) continue;
    auto const* mine = value.is_object() ? value.get_object().if_contains("jupyterhub") : nullptr;
    if (!mine || !mine->is_bool() || !mine->get_bool()) continue;  // not ours: keep it
    Change del{false, nullptr, std::string(key)};
    if (co_await send_change(std::move(del))) ++stats.deleted;
  }
  co_return stats;
}

net::awaitable<void> ChpClient::run() {
  using clock = std::chrono::steady_clock;
  auto next_check = clock::now();
  auto retry = std::chrono::seconds(kFirstRetry);
  for (;;) {
    for (;;) {
      std::optional<Change> c;
      bool overflow = false;
      {
        std::lock_guard lock(mu_);
        overflow = std::exchange(overflowed_, false);
        if (overflow) queue_.clear();
        if (!queue_.empty()) {
          c = std::move(queue_.front());
          queue_.pop_front();
        }
      }
      if (overflow) next_check = clock::now();
      if (!c) break;
      if (!co_await send_change(std::move(*c))) next_check = std::min(next_check, clock::now() + retry);
    }
    if (clock::now() >= next_check) {
      auto stats = co_await reconcile();
      if (stats) {
        log_.debug("proxy {}: reconciled: {} routes listed, {} added, {} deleted, {} activity",
                   cfg_.api_url, stats->chp_routes, stats->added, stats->deleted, stats->activity);
        if (stats->added || stats->deleted)
          log_.info("proxy {}: routes reconciled ({} added, {} deleted)", cfg_.api_url,
                    stats->added, stats->deleted);
        retry = kFirstRetry;
        next_check = clock::now() + cfg_.check_interval;
      } else {
        log_.warn("{}; retrying in {} s", stats.error().message, retry.count());
        next_check = clock::now() + retry;
        retry = std::min<std::chrono::seconds>(retry * 2, cfg_.check_interval);
      }
    }
    timer_.expires_at(next_check);
    boost::system::error_code ec;
    co_await timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
    // operation_aborted: a change was queued (wake) or the context is stopping; loop either way.
    if (ec && ec != net::error::operation_aborted) co_return;
  }
}

}  // namespace nbhub::proxy
