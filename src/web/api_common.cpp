#include "web/api_common.hpp"

#include "web/api_bodies.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <ctime>

#include "config/config.hpp"
#include "hub/roles.hpp"
#include "hub/servers.hpp"
#include "hub/services.hpp"
#include "hub/shares.hpp"
#include "store/store.hpp"
#include "web/base_url.hpp"
#include "web/form.hpp"

namespace nbhub::web {

namespace net = boost::asio;
namespace json = boost::json;
using http::Context;
using http::Response;

std::string iso8601(std::optional<Clock::SysTime> t) {
  if (!t) return "";
  auto secs = std::chrono::system_clock::to_time_t(*t);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, us);
}

json::value iso_or_null(std::optional<Clock::SysTime> t) { return t ? json::value(iso8601(t)) : json::value(nullptr); }

Api::Api(ApiDeps deps) : d(std::move(deps)), base(url_prefix(d.cfg.load()->base_url)), route(route_prefix(d.cfg.load()->base_url) + "hub/api/") {}

Response Api::json(unsigned status, json::value const& v) const {
  auto res = http::json_response(status, json::serialize(v));
  res.set("X-JupyterHub-Version", d.jupyterhub_version);
  return res;
}

Response Api::empty(unsigned status) const {
  auto res = http::json_response(status, "");
  res.set("X-JupyterHub-Version", d.jupyterhub_version);
  return res;
}

Response Api::error(unsigned status, std::string_view message) const {
  auto res = http::json_error(status, message);
  res.set("X-JupyterHub-Version", d.jupyterhub_version);
  return res;
}

unsigned Api::status_of(Errc c) {
  switch (c) {
    case Errc::bad_request: return 400;
    case Errc::unauthorized:
    case Errc::forbidden: return 403;
    case Errc::not_found: return 404;
    case Errc::conflict: return 409;
    case Errc::too_large: return 413;
    case Errc::unavailable: return 503;
    case Errc::bad_gateway: return 502;
    default: return 500;
  }
}

Response Api::error_from(Error const& e) const { return error(status_of(e.code), e.message); }

// No credentials is an anonymous caller without scopes: every handler's scope check then
// answers 403 naming the scope it needed, as JupyterHub does.
// A bearer JWT that was presented but refused answers with the reason (expired, wrong issuer,
// unknown user, ...): an anonymous 403 naming a scope would hide what to fix (docs/tokens.md).
net::awaitable<Checked<Caller>> Api::caller(Context& ctx) const {
  auto c = co_await d.auth.resolve(ctx);
  if (!c) {
    if (co_await d.auth.store_out_of_reach(ctx))
      co_return error(503, "The hub's database is out of reach; try again shortly.");
    if (auto why = co_await d.auth.refusal(ctx); !why.empty()) co_return error(403, why);
    co_return Caller{};
  }
  if (auto why = d.auth.xsrf_refusal(ctx, *c)) co_return error(403, *why);
  co_return std::move(*c);
}

std::optional<Response> Api::need(Caller const& c, std::initializer_list<std::string_view> bases,
                                  hub::ScopeTarget const& target) const {
  for (auto b : bases)
    if (hub::has_scope(c.scope_set, b, target)) return std::nullopt;
  std::string list;
  for (auto b : bases) list += (list.empty() ? "" : ", ") + std::string(b);
  return error(403, fmt::format("Action is not authorized with current scopes; requires any of [{}]", list));
}

std::optional<Response> Api::need_any_form(Caller const& c, std::string_view base) const {
  if (hub::has_any_scope(c.scope_set, base)) return std::nullopt;
  return error(403, fmt::format("Action is not authorized with current scopes; requires any of [{}]", base));
}

Checked<json::value> Api::body(Context const& ctx) const {
  auto v = parse_json_body(ctx.req.body());
  if (!v) return error(400, v.error().message);
  return std::move(*v);
}

namespace {

constexpr std::int64_t kPageDefault = 50;   // api_page_default_limit
constexpr std::int64_t kPageMax = 200;      // api_page_max_limit

}  // namespace

bool accepts_pagination(std::string const& accept) {
  std::string_view rest = accept;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    item = item.substr(0, item.find(';'));
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    std::string lower(item);
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower == "application/jupyterhub-pagination+json") return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

std::optional<std::int64_t> parse_page_int(std::string const& s) {
  std::int64_t v = 0;
  auto const* first = s.data();
  if (!s.empty() && s.front() == '+') ++first;
  auto [p, ec] = std::from_chars(first, s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v < 0 ? -v : v;  // JupyterHub: abs(int(value))
}

Checked<Api::Page> Api::page(Context const& ctx) const {
  Page p;
  p.envelope = accepts_pagination(ctx.header("Accept"));
  p.limit = p.envelope ? kPageDefault : kPageMax;
  if (auto o = ctx.query_param("offset")) {
    auto v = parse_page_int(*o);
    if (!v) return error(400, fmt::format("offset must be an integer, not {}", json::serialize(json::value(*o))));
    p.offset = *v;
  }
  if (auto l = ctx.query_param("limit")) {
    auto v = parse_page_int(*l);
    if (!v) return error(400, fmt::format("limit must be an integer, not {}", json::serialize(json::value(*l))));
    p.limit = std::clamp<std::int64_t>(*v, 1, kPageMax);
  }
  return p;
}

json::value Api::paged(Context const& ctx, Page const& p, json::array items, std::int64_t total) const {
  if (!p.envelope) return items;
  json::value next = nullptr;
  if (p.offset + p.limit < total) {
    // Absolute, built from the request's own URL, as clients follow it verbatim (§4.4).
    std::string query;
    for (auto const& [k, v] : ctx.query)
      if (k != "offset" && k != "limit") query += url_encode(k) + "=" + url_encode(v) + "&";
    query += fmt::format("offset={}&limit={}", p.offset + p.limit, p.limit);
    auto path = ctx.raw_target.substr(0, ctx.raw_target.find('?'));
    auto host = ctx.host.empty() ? ctx.header("Host") : ctx.host;
    next = json::object{{"offset", p.offset + p.limit}, {"limit", p.limit},
                        {"url", fmt::format("{}://{}{}?{}", ctx.scheme(), host, path, query)}};
  }
  return json::object{{"items", std::move(items)},
                      {"_pagination", json::object{{"offset", p.offset}, {"limit", p.limit}, {"total", total}, {"next", next}}}};
}

hub::ScopeTarget Api::user_target(store::UserRow const& u) const {
  return hub::ScopeTarget{.user = u.name, .user_groups = u.groups};
}

std::map<std::string, Api::ServerRows> Api::all_server_rows() const {
  std::map<std::string, ServerRows> out;
  if (auto all = d.store.list_servers())
    for (auto& s : *all) out[s.user_name][s.server.name] = std::move(s.server);
  return out;
}

Api::ServerRows Api::server_rows(std::int64_t user_id) const {
  ServerRows out;
  if (auto all = d.store.list_servers_for_user(user_id))
    for (auto& s : *all) out[s.name] = std::move(s);
  return out;
}

json::object Api::server_model(store::UserRow const& u, std::string const& name, bool include_state,
                               ServerRows const* rows) const {
  auto v = d.servers.view(u.name, name);
  if (rows)
    if (auto it = rows->find(name); it != rows->end() && it->second.last_activity &&
                                     (!v.last_activity || *v.last_activity < *it->second.last_activity))
      v.last_activity = it->second.last_activity;
  auto url = d.servers.prefix_for(u.name, name);
  auto progress = hub("api/users/") + url_encode(u.name) + (name.empty() ? "/server" : "/servers/" + url_encode(name)) + "/progress";
  std::string public_url = d.cfg.load()->public_url;
  while (!public_url.empty() && public_url.back() == '/') public_url.pop_back();
  json::object m{
      {"name", name},
      // JupyterHub 6.0: the label people see; the server's name unless a start gave one.
      {"display_name", v.display_name.empty() ? name : v.display_name},
      {"full_name", u.name + "/" + name},
      {"last_activity", iso_or_null(v.last_activity)},
      {"started", iso_or_null(v.started)},
      {"pending", v.state == hub::ServerState::pending ? json::value("spawn")
                  : v.state == hub::ServerState::stopping ? json::value("stop") : json::value(nullptr)},
      {"ready", v.state == hub::ServerState::ready},
      {"stopped", v.state == hub::ServerState::stopped},
      {"url", url},
      {"full_url", public_url.empty() ? json::value(nullptr) : json::value(public_url + url)},
      {"user_options", v.user_options},
      {"progress_url", progress},
      {"full_progress_url", public_url.empty() ? json::value(nullptr) : json::value(public_url + progress)},
  };
  if (include_state) m["state"] = json::object{};
  return m;
}

json::object Api::user_model(store::UserRow const& u, Caller const& c, bool include_stopped, bool identify_self,
                             ServerRows const* rows) const {
  auto t = user_target(u);
  auto has = [&](std::string_view b) {
    if (identify_self && (b == "read:users:name" || b == "read:users:groups")) return true;
    return hub::has_scope(c.scope_set, b, t);
  };
  auto const roles_now = d.auth.roles();
  auto const& roles = *roles_now;
  bool admin = roles.is_admin(u);
  json::object m;
  bool full = has("read:users");
  if (full || has("read:users:name")) {
    m["kind"] = "user";
    m["name"] = u.name;
    m["admin"] = admin;
  }
  if (full || has("read:roles:users")) {
    json::array r;
    for (auto const& n : roles.role_names_for_user(u)) r.emplace_back(n);
    m["roles"] = std::move(r);
    m["admin"] = admin;
  }
  if (full || has("read:users:groups")) {
    json::array g;
    for (auto const& n : u.groups) g.emplace_back(n);
    m["groups"] = std::move(g);
  }
  if (full || has("read:users:activity")) m["last_activity"] = iso_or_null(u.last_activity);
  auto views = d.servers.views_for(u.name);
  if (full) {
    m["created"] = iso8601(u.created);
    auto def = views.find("");
    bool ready = def != views.end() && def->second.state == hub::ServerState::ready;
    m["server"] = ready ? json::value(d.servers.prefix_for(u.name, "")) : json::value(nullptr);
    m["pending"] = def == views.end() ? json::value(nullptr)
                   : def->second.state == hub::ServerState::pending ? json::value("spawn")
                   : def->second.state == hub::ServerState::stopping ? json::value("stop") : json::value(nullptr);
  }
  if (has("read:servers")) {
    bool state = has("admin:server_state");
    json::object servers;
    for (auto const& [name, v] : views) {
      if (v.state == hub::ServerState::stopped && !include_stopped) continue;
      servers[name] = server_model(u, name, state, rows);
    }
    m["servers"] = std::move(servers);
  }
  return m;
}

json::object Api::token_model(store::TokenRow const& t, std::string const& owner) const {
  json::array scopes;
  hub::ScopeSet expanded;
  // The scopes as the token would get them now (§4.3): expanded for the owner, then cut down
  // to the owner's current scopes. Users only: service tokens live in config.
  if (t.user_id) {
    auto user = d.store.get_user_by_id(*t.user_id);
    if (user) {
      auto const roles_now = d.auth.roles();
      auto const& roles = *roles_now;
      auto owner_scopes = hub::with_shared_scopes(roles.user_scopes(*user), *user, d.store);
      expanded = roles.token_scopes(t, hub::ScopeOwner{hub::ScopeOwner::Kind::user, user->name, std::nullopt},
                                    owner_scopes, [this](std::string const& n) {
                                      auto u = d.store.get_user(n);
                                      return u ? u->groups : std::vector<std::string>{};
                                    });
    }
  }
  for (auto const& s : expanded) scopes.emplace_back(s);
  json::object m{{"id", fmt::format("a{}", t.id)},
                 {"kind", "api_token"},
                 {"roles", json::array{}},
                 {"scopes", std::move(scopes)},
                 {"created", iso8601(t.created)},
                 {"last_activity", iso_or_null(t.last_activity)},
                 {"expires_at", iso_or_null(t.expires_at)},
                 {"note", t.note},
                 {"session_id", t.session_id_hash ? json::value(*t.session_id_hash) : json::value(nullptr)},
                 {"oauth_client", t.oauth_client_id ? json::value(*t.oauth_client_id) : json::value("jupyterhub")}};
  if (t.service_name) m["service"] = *t.service_name;
  else m["user"] = owner;
  return m;
}

json::object Api::group_model(store::GroupRow const& g, Caller const& c) const {
  hub::ScopeTarget t{.group = g.name};
  json::object m{{"kind", "group"}, {"name", g.name}};
  if (hub::has_scope(c.scope_set, "read:groups", t)) {
    json::array users;
    for (auto const& u : g.members) users.emplace_back(u);
    m["users"] = std::move(users);
    m["properties"] = g.properties;
  }
  if (hub::has_scope(c.scope_set, "read:roles:groups", t)) {
    json::array roles;
    for (auto const& r : d.auth.roles()->role_names_for_group(g.name)) roles.emplace_back(r);
    m["roles"] = std::move(roles);
  }
  return m;
}

json::object Api::service_model(hub::Service const& s, Caller const& c, bool full) const {
  hub::ScopeTarget t{.service = s.name};
  json::object m{{"kind", "service"}, {"name", s.name}};
  if (full || hub::has_scope(c.scope_set, "read:services", t)) {
    m["admin"] = s.admin;
    m["url"] = s.url;
    m["prefix"] = s.url.empty() ? json::value("") : json::value(s.prefix);
    m["command"] = json::array(s.command.begin(), s.command.end());
    std::optional<int> pid = d.service_pid ? d.service_pid(s.name) : std::nullopt;
    m["pid"] = pid.value_or(0);
    m["info"] = s.info;
    m["display"] = s.display;
  }
  if (full || hub::has_scope(c.scope_set, "read:roles:services", t)) {
    json::array roles;
    for (auto const& r : d.auth.roles()->role_names_for_service(s.name, s.admin)) roles.emplace_back(r);
    m["roles"] = std::move(roles);
  }
  return m;
}

void add_api_routes(http::Router& router, ApiDeps deps) {
  auto api = std::make_shared<Api const>(std::move(deps));
  add_user_api(router, api);
  add_token_api(router, api);
  add_group_api(router, api);
  add_share_api(router, api);
  add_service_api(router, api);
  add_config_api(router, api);  // before add_hub_api's catch-all for unknown API paths
  add_hub_api(router, api);
  add_account_pages(router, api);
}

}  // namespace nbhub::web
