#include "web/server_routes.hpp"

#include <variant>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "config/config.hpp"
#include "hub/blocking.hpp"
#include "hub/oauth_provider.hpp"
#include "hub/scopes.hpp"
#include "hub/roles.hpp"
#include "hub/server_names.hpp"
#include "hub/servers.hpp"
#include "hub/services.hpp"
#include "hub/token_refresher.hpp"
#include "store/store.hpp"
#include "web/api_common.hpp"
#include "web/api_bodies.hpp"
#include "web/base_url.hpp"
#include "web/form.hpp"
#include "web/handler_hooks.hpp"
#include "web/html.hpp"
#include "web/request_auth.hpp"

namespace nbhub::web {

namespace net = boost::asio;
namespace json = boost::json;
using http::Context;
using http::Response;

namespace {

std::string iso8601(std::optional<Clock::SysTime> t) {
  if (!t) return "";
  auto secs = std::chrono::system_clock::to_time_t(*t);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us);
}

struct Routes {
  ServerRouteDeps d;
  std::string base;

  std::string hub(std::string_view rest = "") const { return base + "hub/" + std::string(rest); }

  Response api(Response res) const {
    res.set("X-JupyterHub-Version", d.jupyterhub_version);
    return res;
  }
  Response api_json(unsigned status, json::value const& v) const {
    return api(http::json_response(status, json::serialize(v)));
  }
  Response api_error(unsigned status, std::string_view msg) const { return api(http::json_error(status, msg)); }

  json::object user_model(store::UserRow const& u) const {
    json::array groups;
    for (auto const& g : u.groups) groups.emplace_back(g);
    json::object servers;
    for (auto const& [name, v] : d.servers.views_for(u.name)) {
      if (v.state == hub::ServerState::stopped) continue;
      servers[name] = json::object{
          {"name", name},
          {"ready", v.state == hub::ServerState::ready},
          {"pending", v.state == hub::ServerState::pending ? json::value("spawn")
                      : v.state == hub::ServerState::stopping ? json::value("stop") : json::value(nullptr)},
          {"stopped", false},
          {"url", d.servers.prefix_for(u.name, name)},
          {"progress_url", hub("api/users/") + url_encode(u.name) + "/server" + (name.empty() ? "" : "s/" + url_encode(name)) + "/progress"},
          {"started", v.started ? json::value(iso8601(v.started)) : json::value(nullptr)},
          {"last_activity", v.last_activity ? json::value(iso8601(v.last_activity)) : json::value(nullptr)},
          {"user_options", json::object{}},
          {"state", json::object{}}};
    }
    auto def = servers.find("");
    json::value server = def != servers.end() && def->value().as_object()["ready"].as_bool()
                             ? json::value(d.servers.prefix_for(u.name, "")) : json::value(nullptr);
    json::value pending = def != servers.end() ? def->value().as_object()["pending"] : json::value(nullptr);
    return {{"kind", "user"}, {"name", u.name}, {"admin", u.admin}, {"roles", json::array{u.admin ? "admin" : "user"}},
            {"groups", std::move(groups)}, {"server", server}, {"pending", pending},
            {"created", iso8601(u.created)},
            {"last_activity", u.last_activity ? json::value(iso8601(u.last_activity)) : json::value(nullptr)},
            {"servers", std::move(servers)}};
  }

  // The answer when a request names no caller: 403 (a refused bearer JWT says why), or 503
  // while the database is out of reach, so that a server does not take a valid token for an
  // unknown one (docs/replicas.md: a replica cut off from the database).
  net::awaitable<Response> no_caller(Context& ctx) const {
    if (co_await d.auth.store_out_of_reach(ctx))
      co_return api_error(503, "The hub's database is out of reach; try again shortly.");
    auto why = co_await d.auth.refusal(ctx);
    co_return api_error(403, why.empty() ? "Missing or invalid credentials." : why);
  }

  // --- the contract calls of spec §2 ---------------------------------------------------------

  net::awaitable<Response> api_root(Context&) const {
    co_return api_json(200, json::object{{"version", d.jupyterhub_version}});
  }

  net::awaitable<Response> api_user(Context& ctx) const {
    auto caller = co_await d.auth.resolve(ctx);
    // 403, never 401: a singleuser server treats 403 as "anonymous" and anything else as a
    // hub failure (spec §2.4). A refused bearer JWT says why (docs/tokens.md).
    if (!caller) {
      auto refused = co_await no_caller(ctx);
      co_return refused;
    }
    if (auto why = d.auth.xsrf_refusal(ctx, *caller)) co_return api_error(403, *why);
    if (caller->service) {
      // A config service's token: the service model (kind "service").
      json::array svc_scopes;
      for (auto const& s : caller->scopes) svc_scopes.emplace_back(s);
      json::array roles;
      for (auto const& r : d.auth.roles()->role_names_for_service(caller->service->name, caller->service->admin))
        roles.emplace_back(r);
      co_return api_json(200, json::object{{"kind", "service"}, {"name", caller->service->name},
                                           {"admin", caller->service->admin}, {"roles", std::move(roles)},
                                           {"scopes", std::move(svc_scopes)}, {"session_id", nullptr}});
    }
    auto model = user_model(caller->user);
    json::array scopes;
    auto held = caller->scopes;
    std::sort(held.begin(), held.end());
    for (auto const& s : held) scopes.emplace_back(s);
    model["scopes"] = std::move(scopes);
    model["session_id"] = caller->session_hash.empty()
                              ? (caller->token && caller->token->session_id_hash ? json::value(*caller->token->session_id_hash) : json::value(nullptr))
                              : json::value(caller->session_hash);
    if (caller->token) model["token_id"] = fmt::format("a{}", caller->token->id);
    // JupyterHub's auth_state for admin:auth_state holders, with the access token refreshed
    // when near expiry (spec/auth.md §2.2: the documented way for notebooks).
    if (d.refresher && hub::any_scope_covers(caller->scopes, "admin:auth_state!user=" + caller->user.name)) {
      auto state = co_await d.refresher->fresh_auth_state(caller->user.name);
      model["auth_state"] = state ? json::value(std::move(*state)) : json::value(nullptr);
    }
    co_return api_json(200, model);
  }

  // POST /hub/api/users/{name}/activity (spec §2.2).
  net::awaitable<Response> activity(Context& ctx) const {
    auto caller = co_await d.auth.resolve(ctx);
    if (!caller) {
      auto refused = co_await no_caller(ctx);
      co_return refused;
    }
    if (auto why = d.auth.xsrf_refusal(ctx, *caller)) co_return api_error(403, *why);
    auto const& name = ctx.params[0];
    if (!hub::any_scope_covers(caller->scopes, "users:activity!user=" + name))
      co_return api_error(403, fmt::format("Action is not authorized with current scopes; requires users:activity for {}.", name));
    auto req = parse_activity(ctx.req.body());
    if (!req) co_return api_error(400, req.error().message);
    auto now = std::chrono::system_clock::now();
    auto const& user_ts = req->user_last_activity;
    auto const& updates = req->servers;
    if (!updates.empty()) {
      auto views = d.servers.views_for(name);
      for (auto const& [sname, ts] : updates) {
        auto v = views.find(sname);
        if (v == views.end() || v->second.state == hub::ServerState::stopped)
          co_return api_error(400, fmt::format("No such server '{}' for user {}", sname, name));
      }
    }
    for (auto const& [s, ts] : updates)
      if (ts > now + std::chrono::minutes(59)) co_return api_error(400, "last_activity is more than an hour in the future.");
    if (user_ts && *user_ts > now + std::chrono::minutes(59)) co_return api_error(400, "last_activity is more than an hour in the future.");
    auto work = [&, this]() -> Result<void> {
      auto user = d.store.get_user(name);
      if (!user) return user.error();
      for (auto const& [s, ts] : updates)
        if (auto r = d.store.touch_server_activity(user->id, s, ts); !r) return r.error();
      if (user_ts) return d.store.touch_activity(name, *user_ts);
      return {};
    };
    auto r = co_await hub::run_blocking(d.pool, std::move(work));
    if (!r) co_return api_error(r.error().code == Errc::not_found ? 404 : 503, r.error().message);
    co_return api(http::json_response(200, ""));
  }

  // GET /hub/api/oauth2/authorize (spec §3.2-§3.4).
  net::awaitable<Response> authorize(Context& ctx) const {
    auto caller = co_await d.auth.from_cookie(ctx);
    if (!caller) co_return http::redirect_response(hub("login") + "?next=" + url_encode(ctx.raw_target));
    auto query = ctx.query;
    auto r = co_await d.oauth.authorize(caller->user, caller->session_hash, std::move(query));
    if (!r) {
      auto status = r.error().code == Errc::forbidden ? 403u : r.error().code == Errc::bad_request ? 400u : 503u;
      co_return http::html_response(status, render({"Not allowed", error_body(status, r.error().message, hub("home"), "Go to your home page"),
                                                    PageUser{caller->user.name, caller->user.admin}, base}));
    }
    co_return http::redirect_response(*r);
  }

  // POST /hub/api/oauth2/token (spec §3.5).
  net::awaitable<Response> token(Context& ctx) const {
    auto form = parse_form(ctx.req.body());
    auto reply = co_await d.oauth.token(std::move(form), ctx.header("Authorization"));
    auto res = api_json(reply.status, reply.body);
    res.set("Pragma", "no-cache");
    co_return res;
  }

  // --- server API ----------------------------------------------------------------------------

  // JupyterHub's needs_scope for one server: `scope` unfiltered, on the user, on exactly this
  // server (`!server=alice/gpu`), or on a group of the user (`!group=`). The user's groups are
  // read only when the cheaper checks did not already decide.
  net::awaitable<bool> may(Caller const& c, std::string_view scope, std::string const& name,
                           std::string const& server) const {
    hub::ScopeTarget target{.user = name, .server = server};
    if (hub::has_scope(c.scope_set, scope, target)) co_return true;
    if (!hub::has_any_scope(c.scope_set, scope)) co_return false;
    auto lookup = [this, name]() { return d.store.get_user(name); };
    auto user = co_await hub::run_blocking(d.pool, std::move(lookup));
    if (!user || user->groups.empty()) co_return false;
    target.user_groups = user->groups;
    co_return hub::has_scope(c.scope_set, scope, target);
  }

  net::awaitable<Response> start_server(Context& ctx) const {
    auto caller = co_await d.auth.resolve(ctx);
    if (!caller) {
      auto refused = co_await no_caller(ctx);
      co_return refused;
    }
    auto const& name = ctx.params[0];
    auto server_name = ctx.params.size() > 1 ? ctx.params[1] : std::string{};
    // JupyterHub 6.0's start:servers (held through `servers` by every 3.0 token that could start).
    if (!co_await may(*caller, "start:servers", name, server_name)) co_return api_error(403, fmt::format("You may not start {}'s server.", name));
    if (auto why = d.auth.xsrf_refusal(ctx, *caller)) co_return api_error(403, *why);
    auto lookup = [this, name]() { return d.store.get_user(name); };
    auto user = co_await hub::run_blocking(d.pool, std::move(lookup));
    if (!user) co_return api_error(user.error().code == Errc::not_found ? 404 : 503, user.error().message);
    auto parsed = parse_server_body(ctx.req.body());
    if (auto* bad = std::get_if<std::string>(&parsed)) co_return api_error(400, *bad);
    auto body = std::get<ServerBody>(std::move(parsed));
    auto before = d.servers.view(name, server_name).state;
    // A server defined by PUT starts with its stored options unless the start gives some.
    std::optional<store::NamedServerRow> defined;
    if (!server_name.empty()) {
      auto find = [this, id = user->id, server_name]() { return d.store.get_named_server(id, server_name); };
      auto found = co_await hub::run_blocking(d.pool, std::move(find));
      if (!found) co_return api_error(503, found.error().message);
      defined = std::move(*found);
    }
    if (defined) {
      if (!body.has_options) body.options = defined->user_options;
      if (body.display_name.empty()) body.display_name = defined->display_name;
    } else if (body.v6 && !server_name.empty() && before == hub::ServerState::stopped) {
      // JupyterHub 6.0 refuses new named servers with lax names; a 3.0/5.x client (whose body
      // is the options themselves) keeps the names it could always use.
      if (!hub::is_strict_server_name(server_name))
        co_return api_error(400, fmt::format("Invalid server_name: {}", server_name));
      if (!body.display_name.empty())
        if (auto why = hub::display_name_problem(body.display_name))
          co_return api_error(400, fmt::format("Invalid display_name: {}", *why));
    }
    // A profile or choice that does not exist is the caller's mistake (400), not a failed spawn.
    if (before == hub::ServerState::stopped) {
      auto checked = co_await d.servers.check_user_options(*user, server_name, body.options);
      if (!checked) co_return api_error(checked.error().code == Errc::bad_request ? 400 : 500, checked.error().message);
    }
    if (!defined && !server_name.empty() && before == hub::ServerState::stopped) {
      auto const cfg = d.cfg.load();
      auto limit = co_await named_server_limit_for(d.handler_hooks, *cfg, ctx, current_user_name(*caller));
      if (!limit) co_return api_error(500, limit.error().message);
      auto room = co_await d.servers.check_named_limit(*user, server_name, *limit);
      if (!room) co_return api_error(room.error().code == Errc::bad_request ? 400 : 503, room.error().message);
    }
    auto r = d.servers.start(*user, server_name, std::move(body.options), std::move(body.display_name));
    if (!r) {
      auto status = r.error().code == Errc::conflict ? 409u : r.error().code == Errc::bad_request ? 400u : r.error().code == Errc::unavailable ? 429u : 500u;
      co_return api_error(status, r.error().message);
    }
    if (before == hub::ServerState::ready) co_return api_error(400, fmt::format("{}'s server is already running", name));
    // JupyterHub waits up to slow_spawn_timeout: 201 means ready for use, 202 still starting;
    // a spawn that failed by then is an error, as its exception is in JupyterHub.
    co_await d.servers.wait_progress(name, server_name, 1u << 30, d.cfg.load()->spawner_settings.slow_spawn_timeout);
    auto v = d.servers.view(name, server_name);
    if (v.state == hub::ServerState::stopped && !v.last_error.empty())
      co_return api_error(500, fmt::format("Spawn failed: {}", v.last_error));
    co_return api(http::json_response(v.state == hub::ServerState::ready ? 201 : 202, ""));
  }

  net::awaitable<Response> stop_server(Context& ctx) const {
    auto caller = co_await d.auth.resolve(ctx);
    if (!caller) {
      auto refused = co_await no_caller(ctx);
      co_return refused;
    }
    auto const& name = ctx.params[0];
    auto server_name = ctx.params.size() > 1 ? ctx.params[1] : std::string{};
    if (!co_await may(*caller, "delete:servers", name, server_name)) co_return api_error(403, fmt::format("You may not stop {}'s server.", name));
    if (auto why = d.auth.xsrf_refusal(ctx, *caller)) co_return api_error(403, *why);
    // {"remove": true} also deletes a named server's definition (JupyterHub's DELETE; a
    // definition is what nbhub keeps of a stopped named server: JupyterHub 6.0's PUT).
    bool remove = false;
    if (ctx.req.body().find_first_not_of(" \t\r\n") != std::string::npos) {
      boost::system::error_code ec;
      auto body = json::parse(ctx.req.body(), ec);
      if (ec) co_return api_error(400, "Invalid JSON in body of request");
      if (body.is_object())
        if (auto const* v = body.as_object().if_contains("remove"); v && v->is_bool()) remove = v->as_bool();
    }
    if (remove && server_name.empty()) co_return api_error(400, "Cannot delete the default server");
    bool removed = false;
    if (remove) {
      auto drop = [this, name, server_name]() -> Result<bool> {
        auto user = d.store.get_user(name);
        if (!user) return user.error();
        return d.store.delete_named_server(user->id, server_name);
      };
      auto r = co_await hub::run_blocking(d.pool, std::move(drop));
      if (!r && r.error().code != Errc::not_found) co_return api_error(503, r.error().message);
      removed = r && *r;
    }
    if (d.servers.view(name, server_name).state == hub::ServerState::stopped) {
      if (removed) co_return api(http::json_response(204, ""));
      co_return api_error(400, fmt::format("{}'s server is not running", name));
    }
    auto r = co_await d.servers.stop(name, server_name);
    if (!r) co_return api_error(409, r.error().message);
    co_return api(http::json_response(204, ""));
  }

  // GET .../server/progress: JupyterHub's text/event-stream (spec §4.5). It stays open and
  // sends each event as the spawn makes it, a blank line every 8 s between them, and ends after
  // the last one: `ready` (with the server's url) or `failed`. Readers take the end of the
  // stream as the end of the spawn. Events carry ids, so an EventSource that lost the
  // connection resumes after Last-Event-ID.
  net::awaitable<Response> progress(Context& ctx) const {
    auto caller = co_await d.auth.resolve(ctx);
    if (!caller) {
      auto refused = co_await no_caller(ctx);
      co_return refused;
    }
    auto const& name = ctx.params[0];
    auto server_name = ctx.params.size() > 1 ? ctx.params[1] : std::string{};
    if (!co_await may(*caller, "read:servers", name, server_name))
      co_return api_error(403, "You may not read this server's progress.");
    if (auto why = d.auth.xsrf_refusal(ctx, *caller)) co_return api_error(403, *why);
    auto v = d.servers.view(name, server_name);
    auto res = api(http::text_response(200, "", "text/event-stream"));
    res.set(http::bhttp::field::cache_control, "no-cache");
    res.set("X-Accel-Buffering", "no");  // nginx in front: pass events on at once
    auto event = [](json::object const& e) { return fmt::format("data: {}\n\n", json::serialize(e)); };
    switch (v.state) {
      case hub::ServerState::ready:
        res.body() = event(d.servers.ready_event(name, server_name));
        co_return res;
      case hub::ServerState::pending: {
        std::size_t seen = 0;
        if (auto last = ctx.header("Last-Event-ID"); !last.empty()) {
          try { seen = std::stoul(last); } catch (...) { seen = 0; }
        }
        ctx.body_stream = std::make_shared<ProgressStream>(d.servers, name, server_name, seen);
        co_return res;
      }
      case hub::ServerState::stopped:
        if (!v.last_error.empty()) {
          res.body() = event({{"progress", 100}, {"failed", true}, {"message", "Spawn failed: " + v.last_error}});
          co_return res;
        }
        break;
      case hub::ServerState::stopping:
        break;
    }
    if (!server_name.empty() && !d.servers.views_for(name).contains(server_name))
      co_return api_error(404, fmt::format("{} has no server named {}", name, server_name));
    co_return api_error(400, fmt::format("{}'s server is not starting", name));
  }

  // The events of one spawn, each sent as it happens (see progress()).
  class ProgressStream final : public http::BodyStream {
   public:
    ProgressStream(hub::ServerManager& servers, std::string user, std::string server, std::size_t seen)
        : servers_(servers), user_(std::move(user)), server_(std::move(server)), seen_(seen) {}

    net::awaitable<std::optional<std::string>> next() override {
      if (done_) co_return std::nullopt;
      auto p = co_await servers_.wait_progress(user_, server_, seen_, kKeepAlive);
      if (p.events.size() < seen_) co_return std::nullopt;  // a new spawn replaced the one followed
      std::string out;
      for (; seen_ < p.events.size(); ++seen_)
        out += fmt::format("id: {}\ndata: {}\n\n", seen_ + 1, json::serialize(p.events[seen_]));
      done_ = p.finished;
      if (out.empty()) {
        if (done_) co_return std::nullopt;
        out = "\n\n";  // keep-alive, as JupyterHub: proxies in between keep the stream open
      }
      co_return out;
    }

   private:
    static constexpr std::chrono::seconds kKeepAlive{8};
    hub::ServerManager& servers_;
    std::string user_, server_;
    std::size_t seen_;
    bool done_ = false;
  };
};

template <auto Method>
http::Handler bind(std::shared_ptr<Routes const> r) {
  return [r](Context& ctx) -> net::awaitable<Response> { co_return co_await ((*r).*Method)(ctx); };
}

}  // namespace

void add_server_routes(http::Router& router, ServerRouteDeps deps) {
  auto r = std::make_shared<Routes const>(Routes{deps, deps.cfg.load()->base_url});
  auto h = route_prefix(deps.cfg.load()->base_url) + "hub/";  // the router sees decoded paths
  router.get(h + "api", bind<&Routes::api_root>(r));
  router.get(h + "api/", bind<&Routes::api_root>(r));
  router.get(h + "api/user", bind<&Routes::api_user>(r));
  router.post(h + "api/users/{name}/activity", bind<&Routes::activity>(r));
  router.get(h + "api/oauth2/authorize", bind<&Routes::authorize>(r));
  router.post(h + "api/oauth2/token", bind<&Routes::token>(r));
  router.post(h + "api/users/{name}/server", bind<&Routes::start_server>(r));
  router.add(http::bhttp::verb::delete_, h + "api/users/{name}/server", bind<&Routes::stop_server>(r));
  router.post(h + "api/users/{name}/servers/{server}", bind<&Routes::start_server>(r));
  router.add(http::bhttp::verb::delete_, h + "api/users/{name}/servers/{server}", bind<&Routes::stop_server>(r));
  router.get(h + "api/users/{name}/server/progress", bind<&Routes::progress>(r));
  router.get(h + "api/users/{name}/servers/{server}/progress", bind<&Routes::progress>(r));
}

}  // namespace nbhub::web
