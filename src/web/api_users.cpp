// /hub/api/users and /hub/api/users/{name} (spec/jupyterhub-contract.md §4.2): list with
// filters and pagination, bulk create, read, create, rename/admin, delete. The server
// start/stop/progress and activity routes live in server_routes.cpp.
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "config/config.hpp"
#include "hub/roles.hpp"
#include "hub/server_names.hpp"
#include "hub/services.hpp"
#include "hub/servers.hpp"
#include "store/store.hpp"
#include "web/api_bodies.hpp"
#include "web/api_common.hpp"
#include "web/handler_hooks.hpp"
#include "hub/token_refresher.hpp"

namespace nbhub::web {

namespace net = boost::asio;
namespace json = boost::json;
using http::Context;
using http::Response;

namespace {

// JupyterHub's `current_user.admin`: the admin flag of the user (or config service) behind
// the request, whatever its token's scopes; `admin:users` alone does not make an admin.
bool is_admin(Caller const& c) { return c.service ? c.service->admin : c.user.admin; }

bool truthy(std::optional<std::string> const& v) {
  return v && !v->empty() && *v != "0" && *v != "false" && *v != "False";
}

struct UsersApi {
  std::shared_ptr<Api const> a;

  bool active(std::string const& user) const {
    for (auto const& [_, v] : a->d.servers.views_for(user))
      if (v.state != hub::ServerState::stopped) return true;
    return false;
  }
  bool ready(std::string const& user) const {
    for (auto const& [_, v] : a->d.servers.views_for(user))
      if (v.state == hub::ServerState::ready) return true;
    return false;
  }

  // GET /users
  net::awaitable<Response> list(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    if (auto deny = a->need_any_form(c, "list:users")) co_return std::move(*deny);
    auto pg = a->page(ctx);
    if (auto* r = std::get_if<Response>(&pg)) co_return std::move(*r);
    auto p = std::get<Api::Page>(pg);
    auto state = ctx.query_param("state").value_or("");
    if (!state.empty() && state != "active" && state != "ready" && state != "inactive")
      co_return a->error(400, fmt::format("Unrecognized state filter: {}. Must be one of ['active', 'inactive', 'ready']", state));
    auto sort = ctx.query_param("sort").value_or("id");
    bool desc = sort.starts_with('-');
    if (desc) sort.erase(0, 1);
    if (sort != "id" && sort != "name" && sort != "last_activity")
      co_return a->error(400, fmt::format("sort must be one of id, name, last_activity (with - for descending), not {}", sort));
    auto name_filter = ctx.query_param("name_filter").value_or("");
    bool include_stopped = truthy(ctx.query_param("include_stopped_servers"));
    std::map<std::string, Api::ServerRows> rows;
    auto work = [this, &rows]() -> Result<std::vector<store::UserRow>> {
      auto n = a->d.store.count_users();
      if (!n) return n.error();
      rows = a->all_server_rows();
      return a->d.store.list_users(0, *n);
    };
    auto all = co_await a->blocking(std::move(work));
    if (!all) co_return a->error_from(all.error());
    auto rows_of = [&rows](std::string const& name) -> Api::ServerRows const* {
      auto it = rows.find(name);
      return it == rows.end() ? nullptr : &it->second;
    };
    auto lower = [](std::string s) {
      for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      return s;
    };
    auto needle = lower(name_filter);
    std::vector<store::UserRow const*> picked;
    for (auto const& u : *all) {
      // A filtered list:users lists only the users it covers (JupyterHub filters the query).
      if (!hub::has_scope(c.scope_set, "list:users", a->user_target(u))) continue;
      if (!needle.empty() && lower(u.name).find(needle) == std::string::npos) continue;
      if (state == "active" && !active(u.name)) continue;
      if (state == "ready" && !ready(u.name)) continue;
      if (state == "inactive" && active(u.name)) continue;
      picked.push_back(&u);
    }
    if (sort == "name")
      std::stable_sort(picked.begin(), picked.end(), [](auto* x, auto* y) { return x->name < y->name; });
    else if (sort == "last_activity")
      std::stable_sort(picked.begin(), picked.end(), [](auto* x, auto* y) {
        // Never-active users sort first, as NULLs do in JupyterHub's ORDER BY.
        return x->last_activity.value_or(Clock::SysTime{}) < y->last_activity.value_or(Clock::SysTime{});
      });
    if (desc) std::reverse(picked.begin(), picked.end());
    auto total = static_cast<std::int64_t>(picked.size());
    std::vector<store::UserRow const*> page;
    for (auto i = p.offset; i < total && i < p.offset + p.limit; ++i) page.push_back(picked[static_cast<std::size_t>(i)]);
    // Stopped servers include the named ones defined and not running (JupyterHub lists every
    // orm.Spawner of the user), read for this page's users only.
    std::vector<std::vector<store::NamedServerRow>> defs(page.size());
    if (include_stopped) {
      auto read_defs = [this, &page, &defs]() -> Result<void> {
        for (std::size_t i = 0; i < page.size(); ++i) {
          auto listed = a->d.store.list_named_servers(page[i]->id);
          if (!listed) return listed.error();
          defs[i] = std::move(*listed);
        }
        return {};
      };
      if (auto r = co_await a->blocking(std::move(read_defs)); !r) co_return a->error_from(r.error());
    }
    json::array items;
    for (std::size_t i = 0; i < page.size(); ++i) {
      static Api::ServerRows const kNone;
      auto const* rows_here = rows_of(page[i]->name);
      auto model = a->user_model(*page[i], c, include_stopped, false, rows_here);
      add_defined(model, *page[i], c, defs[i], rows_here ? *rows_here : kNone);
      items.push_back(std::move(model));
    }
    if (!p.envelope && total > p.limit && !ctx.query_param("limit"))
      a->d.log.warn("GET /hub/api/users: {} users, answered the first {} (ask with Accept: application/jupyterhub-pagination+json to page)", total, p.limit);
    co_return a->json(200, a->paged(ctx, p, std::move(items), total));
  }

  // POST /users {"usernames": [...], "admin": bool}
  net::awaitable<Response> create_many(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    if (auto deny = a->need(c, {"admin:users"})) co_return std::move(*deny);
    auto b = a->body(ctx);
    if (auto* r = std::get_if<Response>(&b)) co_return std::move(*r);
    auto req = parse_create_users(std::get<json::value>(b));
    if (!req) co_return a->error(400, req.error().message);
    auto admin = req->admin;
    if (admin && !is_admin(c)) co_return a->error(403, "Only admins can grant admin permissions");
    auto names = std::move(req->names);
    auto work = [this, names, admin]() { return a->d.store.create_users(names, admin); };
    auto created = co_await a->blocking(std::move(work));
    if (!created) co_return a->error_from(created.error());
    if (created->empty()) co_return a->error(409, fmt::format("All {} users already exist", names.size()));
    json::array out;
    for (auto const& u : *created) {
      a->d.log.info("user {} created through the API{}", u.name, admin ? " as admin" : "");
      out.push_back(a->user_model(u, c));
    }
    co_return a->json(201, out);
  }

  net::awaitable<Result<store::UserRow>> load(std::string name) const {
    auto work = [this, name]() { return a->d.store.get_user(name); };
    auto u = co_await a->blocking(std::move(work));
    if (!u && u.error().code == Errc::not_found) co_return Error{Errc::not_found, fmt::format("No such user: {}", name)};
    co_return u;
  }

  // The user's groups are needed for `!group=` checks before the scope check; an unknown
  // user is checked without groups (then 403 or 404 as JupyterHub decides: scope first).
  net::awaitable<std::pair<hub::ScopeTarget, Result<store::UserRow>>> target(std::string const& name) const {
    auto u = co_await load(name);
    hub::ScopeTarget t{.user = name};
    if (u) t.user_groups = u->groups;
    co_return std::pair{std::move(t), std::move(u)};
  }

  // GET /users/{name}
  net::awaitable<Response> get(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto [t, u] = co_await target(ctx.params[0]);
    if (auto deny = a->need(c, {"read:users", "read:users:name", "read:servers", "read:users:groups",
                                "read:users:activity", "read:roles:users"}, t))
      co_return std::move(*deny);
    if (!u) co_return a->error_from(u.error());
    // Recorded activity matters only for servers that are up; skip the read otherwise.
    Api::ServerRows rows;
    if (!a->d.servers.views_for(u->name).empty()) {
      auto work = [this, id = u->id]() { return a->server_rows(id); };
      rows = co_await a->blocking(std::move(work));
    }
    bool const include_stopped = truthy(ctx.query_param("include_stopped_servers"));
    auto model = a->user_model(*u, c, include_stopped, false, &rows);
    if (include_stopped && model.contains("servers")) {
      auto work = [this, id = u->id]() { return a->d.store.list_named_servers(id); };
      auto defs = co_await a->blocking(std::move(work));
      if (!defs) co_return a->error_from(defs.error());
      add_defined(model, *u, c, *defs, rows);
    }
    // As JupyterHub: the single-user model carries auth_state for admin:auth_state holders,
    // with the access token made fresh first (null when nothing is stored or refresh failed).
    if (a->d.refresher && hub::has_scope(c.scope_set, "admin:auth_state", t)) {
      auto state = co_await a->d.refresher->fresh_auth_state(u->name);
      model["auth_state"] = state ? json::value(std::move(*state)) : json::value(nullptr);
    }
    co_return a->json(200, model);
  }

  // Named servers defined by PUT (JupyterHub 6.0) and stopped are stopped servers too: adds
  // them to a user model that lists servers.
  void add_defined(json::object& model, store::UserRow const& u, Caller const& c,
                   std::vector<store::NamedServerRow> const& defs, Api::ServerRows const& rows) const {
    auto* servers = model.if_contains("servers");
    if (!servers || !servers->is_object()) return;
    bool const state = hub::has_scope(c.scope_set, "admin:server_state", a->user_target(u));
    for (auto const& def : defs)
      if (!servers->as_object().contains(def.name))
        servers->as_object()[def.name] = defined_model(u, def.name, state, rows, def);
  }

  // A server's model with what its definition (PUT) says while it does not run.
  json::object defined_model(store::UserRow const& u, std::string const& server, bool state,
                             Api::ServerRows const& rows, std::optional<store::NamedServerRow> const& def) const {
    auto m = a->server_model(u, server, state, &rows);
    if (def && a->d.servers.view(u.name, server).state == hub::ServerState::stopped) {
      m["display_name"] = def->display_name;
      m["user_options"] = def->user_options;
    }
    return m;
  }

  // The user's recorded server rows and the definition of `server` (none for the default one).
  struct Stored {
    Api::ServerRows rows;
    std::optional<store::NamedServerRow> def;
  };
  net::awaitable<Result<Stored>> stored(std::int64_t user_id, std::string server) const {
    auto work = [this, user_id, server]() -> Result<Stored> {
      Stored out{a->server_rows(user_id), std::nullopt};
      if (server.empty()) return out;
      auto def = a->d.store.get_named_server(user_id, server);
      if (!def) return def.error();
      out.def = std::move(*def);
      return out;
    };
    co_return co_await a->blocking(std::move(work));
  }

  // GET /users/{name}/servers/{server} and /users/{name}/server (JupyterHub 6.0): one server's
  // model. 404 for an unknown user or a server the hub does not know: nbhub knows the default
  // server, named servers while they start or run, and the ones defined by PUT.
  net::awaitable<Response> get_server(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto const server = ctx.params.size() > 1 ? ctx.params[1] : std::string{};
    auto [t, u] = co_await target(ctx.params[0]);
    t.server = server;
    if (auto deny = a->need(c, {"read:servers"}, t)) co_return std::move(*deny);
    if (!u) co_return a->error_from(u.error());
    auto st = co_await stored(u->id, server);
    if (!st) co_return a->error_from(st.error());
    if (!server.empty() && !a->d.servers.views_for(u->name).contains(server) && !st->def)
      co_return a->error(404, fmt::format("{} has no server named {}", u->name, server));
    co_return a->json(200, defined_model(*u, server, hub::has_scope(c.scope_set, "admin:server_state", t), st->rows, st->def));
  }

  // JupyterHub 6.0's _check_named_server_request for a new server name.
  // `limit`: named_server_limit_per_user for this request (web/handler_hooks.hpp).
  std::optional<Response> check_new_named(std::string const& user, std::string const& server,
                                          std::string const& display_name,
                                          std::vector<store::NamedServerRow> const* defs, std::size_t limit) const {
    auto const cfg = a->d.cfg.load();
    if (!cfg->spawner_settings.allow_named_servers) return a->error(400, "Named servers are not enabled.");
    if (defs && limit > 0 && a->d.servers.named_count(user, *defs) >= limit)
      return a->error(400, fmt::format("User {} already has the maximum of {} named servers.  One must be deleted "
                                       "before a new server can be created", user, limit));
    if (!hub::is_strict_server_name(server)) return a->error(400, fmt::format("Invalid server_name: {}", server));
    if (auto why = hub::display_name_problem(display_name))
      return a->error(400, fmt::format("Invalid display_name: {}", *why));
    return std::nullopt;
  }

  // PUT /users/{name}/servers/{server} (JupyterHub 6.0): defines a named server without
  // starting it; 201 with its model, 409 when it exists.
  net::awaitable<Response> put_server(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto const server = ctx.params.size() > 1 ? ctx.params[1] : std::string{};
    auto [t, u] = co_await target(ctx.params[0]);
    t.server = server;
    if (auto deny = a->need(c, {"start:servers"}, t)) co_return std::move(*deny);
    if (!u) co_return a->error_from(u.error());
    if (server.empty()) co_return a->error(409, fmt::format("User {} already has a default server", u->name));
    auto work = [this, id = u->id]() { return a->d.store.list_named_servers(id); };
    auto defs = co_await a->blocking(std::move(work));
    if (!defs) co_return a->error_from(defs.error());
    bool const exists = std::any_of(defs->begin(), defs->end(), [&](auto const& d) { return d.name == server; }) ||
                        a->d.servers.view(u->name, server).state != hub::ServerState::stopped;
    if (exists) co_return a->error(409, fmt::format("User {} already has server {}", u->name, server));
    auto parsed = parse_server_body(ctx.req.body());
    if (auto* bad = std::get_if<std::string>(&parsed)) co_return a->error(400, *bad);
    auto body = std::get<ServerBody>(std::move(parsed));
    if (body.display_name.empty()) body.display_name = server;
    auto const cfg = a->d.cfg.load();
    auto const limit = co_await named_server_limit_for(a->d.handler_hooks, *cfg, ctx, current_user_name(c));
    if (!limit) co_return a->error(500, limit.error().message);
    if (auto refused = check_new_named(u->name, server, body.display_name, &*defs, *limit)) co_return std::move(*refused);
    store::NamedServerRow row{.user_id = u->id, .name = server, .display_name = body.display_name,
                              .user_options = body.options};
    auto create = [this, row]() { return a->d.store.create_named_server(row); };
    auto created = co_await a->blocking(std::move(create));
    if (!created && created.error().code == Errc::conflict)
      co_return a->error(409, fmt::format("User {} already has server {}", u->name, server));
    if (!created) co_return a->error_from(created.error());
    a->d.log.info("named server {}/{} defined through the API", u->name, server);
    auto st = co_await stored(u->id, server);
    if (!st) co_return a->error_from(st.error());
    co_return a->json(201, defined_model(*u, server, hub::has_scope(c.scope_set, "admin:server_state", t), st->rows, st->def));
  }

  // PATCH /users/{name}/servers/{server} (JupyterHub 6.0): renames a defined server, or
  // changes its display_name or user_options, while it does not run.
  net::awaitable<Response> patch_server(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto const server = ctx.params.size() > 1 ? ctx.params[1] : std::string{};
    auto [t, u] = co_await target(ctx.params[0]);
    t.server = server;
    if (auto deny = a->need(c, {"start:servers"}, t)) co_return std::move(*deny);
    if (!u) co_return a->error_from(u.error());
    auto b = a->body(ctx);
    if (auto* r = std::get_if<Response>(&b)) co_return std::move(*r);
    auto& v = std::get<json::value>(b);
    if (!v.is_null() && !v.is_object()) co_return a->error(400, "Body must be a JSON object");
    json::object o = v.is_object() ? v.as_object() : json::object{};
    if (o.empty()) co_return a->error(400, "Must specify at least one field to modify.");
    for (auto const& [k, _] : o)
      if (k != "name" && k != "display_name" && k != "user_options")
        co_return a->error(400, fmt::format("Unexpected fields: {{'{}'}}, supported fields: name,display_name,user_options",
                                            std::string_view(k)));
    if (auto const* dn = o.if_contains("display_name"); dn && !dn->is_string())
      co_return a->error(400, "display_name must be a string");
    if (auto const* uo = o.if_contains("user_options"); uo && !uo->is_object())
      co_return a->error(400, "user_options must be a dict");
    if (auto const* n = o.if_contains("name"); n && !n->is_string()) co_return a->error(400, "name must be a string");
    auto work = [this, id = u->id]() { return a->d.store.list_named_servers(id); };
    auto defs = co_await a->blocking(std::move(work));
    if (!defs) co_return a->error_from(defs.error());
    auto it = std::find_if(defs->begin(), defs->end(), [&](auto const& d) { return d.name == server; });
    if (a->d.servers.view(u->name, server).state != hub::ServerState::stopped)
      co_return a->error(400, fmt::format("{}'s server {} is active. Please stop it before modifying it.", u->name, server));
    if (it == defs->end())
      co_return a->error(404, fmt::format("User {} has no such server {}", u->name, server));
    store::NamedServerRow next = *it;
    if (auto const* n = o.if_contains("name")) {
      next.name = std::string(n->as_string());
      if (next.name != server) {
        bool taken = std::any_of(defs->begin(), defs->end(), [&](auto const& d) { return d.name == next.name; }) ||
                     a->d.servers.view(u->name, next.name).state != hub::ServerState::stopped;
        if (taken) co_return a->error(409, fmt::format("User {} already has server '{}'", u->name, next.name));
        if (!hub::is_strict_server_name(next.name))
          co_return a->error(400, fmt::format("Invalid server_name: {}", next.name));
      }
    }
    if (auto const* dn = o.if_contains("display_name"); dn && !dn->as_string().empty()) {
      next.display_name = std::string(dn->as_string());
      if (auto why = hub::display_name_problem(next.display_name))
        co_return a->error(400, fmt::format("Invalid display_name: {}", *why));
    }
    if (auto const* uo = o.if_contains("user_options")) next.user_options = uo->as_object();
    auto update = [this, id = u->id, server, next]() { return a->d.store.update_named_server(id, server, next); };
    auto updated = co_await a->blocking(std::move(update));
    if (!updated && updated.error().code == Errc::conflict)
      co_return a->error(409, fmt::format("User {} already has server '{}'", u->name, next.name));
    if (!updated) co_return a->error_from(updated.error());
    a->d.log.info("named server {}/{} changed through the API{}", u->name, server,
                  next.name != server ? " (renamed to " + next.name + ")" : "");
    auto st = co_await stored(u->id, next.name);
    if (!st) co_return a->error_from(st.error());
    co_return a->json(200, defined_model(*u, next.name, hub::has_scope(c.scope_set, "admin:server_state", t), st->rows, st->def));
  }

  // POST /users/{name}
  net::awaitable<Response> create(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto name = ctx.params[0];
    if (auto deny = a->need(c, {"admin:users"}, hub::ScopeTarget{.user = name})) co_return std::move(*deny);
    if (auto p = user_name_problem(name)) co_return a->error(400, *p);
    auto b = a->body(ctx);
    if (auto* r = std::get_if<Response>(&b)) co_return std::move(*r);
    auto parsed_admin = parse_create_user(std::get<json::value>(b));
    if (!parsed_admin) co_return a->error(400, parsed_admin.error().message);
    bool admin = *parsed_admin;
    if (admin && !is_admin(c)) co_return a->error(403, "Only admins can grant admin permissions");
    auto work = [this, name, admin]() { return a->d.store.create_user(name, admin); };
    auto u = co_await a->blocking(std::move(work));
    if (!u && u.error().code == Errc::conflict) co_return a->error(409, fmt::format("User {} already exists", name));
    if (!u) co_return a->error_from(u.error());
    a->d.log.info("user {} created through the API{}", name, admin ? " as admin" : "");
    co_return a->json(201, a->user_model(*u, c));
  }

  // PATCH /users/{name}: name, admin (groups and roles type-checked, auth_state refused).
  net::awaitable<Response> patch(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto [t, u] = co_await target(ctx.params[0]);
    if (auto deny = a->need(c, {"admin:users"}, t)) co_return std::move(*deny);
    if (!u) co_return a->error_from(u.error());
    auto b = a->body(ctx);
    if (auto* r = std::get_if<Response>(&b)) co_return std::move(*r);
    auto req = parse_patch_user(std::get<json::value>(b));
    if (!req) co_return a->error(400, req.error().message);
    auto new_name = std::move(req->name);
    auto admin = req->admin;
    // CVE-2024-41942: admin:users is not admin. Without being an admin, a caller can
    // neither make anyone an admin nor change an admin (JupyterHub 4.1.6 / 5.1.0).
    if (!is_admin(c)) {
      if (u->admin) co_return a->error(403, "Only admins can modify other admins");
      if (admin.value_or(false)) co_return a->error(403, "Only admins can grant admin permissions");
    }
    auto old = u->name;
    if (new_name && *new_name != old && active(old))
      co_return a->error(400, fmt::format("Stop {}'s servers before renaming them", old));
    auto work = [this, old, new_name, admin]() -> Result<store::UserRow> {
      auto name = old;
      if (new_name && *new_name != old) {
        if (auto r = a->d.store.rename_user(old, *new_name); !r) {
          if (r.error().code == Errc::conflict)
            return Error{Errc::bad_request, fmt::format("User {} already exists, username must be unique", *new_name)};
          return r.error();
        }
        name = *new_name;
      }
      if (admin)
        if (auto r = a->d.store.set_admin(name, *admin); !r) return r.error();
      return a->d.store.get_user(name);
    };
    auto updated = co_await a->blocking(std::move(work));
    if (!updated) co_return a->error_from(updated.error());
    a->d.log.info("user {} changed through the API{}{}", old, new_name ? " (renamed to " + *new_name + ")" : "",
                  admin ? fmt::format(" (admin: {})", *admin) : "");
    co_return a->json(200, a->user_model(*updated, c));
  }

  // DELETE /users/{name}: stops their servers, then deletes them with their tokens.
  net::awaitable<Response> remove(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto [t, u] = co_await target(ctx.params[0]);
    if (auto deny = a->need(c, {"delete:users"}, t)) co_return std::move(*deny);
    if (!u) co_return a->error_from(u.error());
    if (!c.service && c.user.name == u->name) co_return a->error(400, "Cannot delete yourself!");
    for (auto const& [server, v] : a->d.servers.views_for(u->name)) {
      if (v.state == hub::ServerState::pending)
        co_return a->error(400, fmt::format("{}'s server {} is pending spawn. Please wait until it is ready or stop it first.", u->name, server.empty() ? "" : server));
      if (v.state == hub::ServerState::stopped) continue;
      auto stopped = co_await a->d.servers.stop(u->name, server);
      if (!stopped) co_return a->error(400, fmt::format("Could not stop {}'s server: {}", u->name, stopped.error().message));
    }
    auto work = [this, name = u->name]() { return a->d.store.delete_user(name); };
    auto r = co_await a->blocking(std::move(work));
    if (!r) co_return a->error_from(r.error());
    a->d.log.info("user {} deleted through the API", u->name);
    co_return a->empty(204);
  }
};

}  // namespace

void add_user_api(http::Router& router, std::shared_ptr<Api const> api) {
  auto r = std::make_shared<UsersApi const>(UsersApi{api});
  auto const& p = api->route;
  router.get(p + "users", bind_api<UsersApi, &UsersApi::list>(r));
  router.post(p + "users", bind_api<UsersApi, &UsersApi::create_many>(r));
  router.get(p + "users/{name}", bind_api<UsersApi, &UsersApi::get>(r));
  router.get(p + "users/{name}/server", bind_api<UsersApi, &UsersApi::get_server>(r));
  router.get(p + "users/{name}/servers/{server}", bind_api<UsersApi, &UsersApi::get_server>(r));
  router.add(http::bhttp::verb::put, p + "users/{name}/server", bind_api<UsersApi, &UsersApi::put_server>(r));
  router.add(http::bhttp::verb::put, p + "users/{name}/servers/{server}", bind_api<UsersApi, &UsersApi::put_server>(r));
  router.add(http::bhttp::verb::patch, p + "users/{name}/servers/{server}", bind_api<UsersApi, &UsersApi::patch_server>(r));
  router.post(p + "users/{name}", bind_api<UsersApi, &UsersApi::create>(r));
  router.add(http::bhttp::verb::patch, p + "users/{name}", bind_api<UsersApi, &UsersApi::patch>(r));
  router.add(http::bhttp::verb::delete_, p + "users/{name}", bind_api<UsersApi, &UsersApi::remove>(r));
}

}  // namespace nbhub::web
