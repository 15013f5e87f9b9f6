// Sharing (JupyterHub 5.0's apihandlers/shares.py, docs/sharing.md): grant, revoke and list the
// shares of a server, the servers shared with a user or group, and share codes. Models, scope
// checks, messages and status codes follow JupyterHub 5.5; share lists always come paginated
// ({"items", "_pagination"}), as there.
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "config/config.hpp"
#include "core/random.hpp"
#include "hub/servers.hpp"
#include "hub/share_access.hpp"
#include "hub/shares.hpp"
#include "hub/tokens.hpp"
#include "store/store.hpp"
#include "web/api_common.hpp"
#include "web/base_url.hpp"
#include "web/form.hpp"

namespace nbhub::web {

namespace net = boost::asio;
namespace json = boost::json;
using http::Context;
using http::Response;

namespace {

// JupyterHub's ShareCodeGrantRequest: at least a minute, at most a year, a day by default.
constexpr std::int64_t kCodeMinSeconds = 60, kCodeMaxSeconds = 525600 * 60, kCodeDefaultSeconds = 86400;

// A request body as JupyterHub's pydantic models read it (extra keys forbidden).
struct ShareRequest {
  std::optional<std::vector<std::string>> scopes;  // nullopt or empty: the default
  std::optional<std::string> user, group;
  std::int64_t expires_in = kCodeDefaultSeconds;
  std::optional<std::int64_t> max_exchanges;  // nbhub's extension for share codes
};

// `code`: a share-code request (scopes, expires_in, max_exchanges); otherwise a grant or
// revoke (scopes, user, group: exactly one of the last two).
Result<ShareRequest> parse_request(json::value const& v, bool code) {
  ShareRequest r;
  if (v.is_null()) {
    if (code) return r;
    return Error{Errc::bad_request, "Specify exactly one of `user` or `group`"};
  }
  if (!v.is_object()) return Error{Errc::bad_request, "The request body must be a JSON object"};
  for (auto const& [k, val] : v.as_object()) {
    if (k == "scopes") {
      if (val.is_null()) continue;
      if (!val.is_array()) return Error{Errc::bad_request, "scopes: Input should be a valid list"};
      std::vector<std::string> list;
      for (auto const& s : val.as_array()) {
        if (!s.is_string()) return Error{Errc::bad_request, "scopes: each scope should be a valid string"};
        list.emplace_back(s.as_string());
      }
      for (auto const& s : list)
        if (auto problem = hub::scope_problem(s)) return Error{Errc::bad_request, fmt::format("scopes: {}", *problem)};
      r.scopes = std::move(list);
    } else if (!code && (k == "user" || k == "group")) {
      if (val.is_null()) continue;
      if (!val.is_string()) return Error{Errc::bad_request, fmt::format("{}: Input should be a valid string", k)};
      (k == "user" ? r.user : r.group) = std::string(val.as_string());
    } else if (code && k == "expires_in") {
      if (!val.is_int64()) return Error{Errc::bad_request, "expires_in: Input should be a valid integer"};
      r.expires_in = val.as_int64();
      if (r.expires_in < kCodeMinSeconds || r.expires_in > kCodeMaxSeconds)
        return Error{Errc::bad_request, fmt::format("expires_in: Input should be at least {} and at most {} seconds",
                                                    kCodeMinSeconds, kCodeMaxSeconds)};
    } else if (code && k == "max_exchanges") {
      if (val.is_null()) continue;
      if (!val.is_int64() || val.as_int64() < 1)
        return Error{Errc::bad_request, "max_exchanges: Input should be a positive integer or null"};
      r.max_exchanges = val.as_int64();
    } else {
      return Error{Errc::bad_request, fmt::format("{}: Extra inputs are not permitted", std::string_view(k))};
    }
  }
  if (!code) {
    if (r.user && r.group) return Error{Errc::bad_request, "Expected exactly one of `user` or `group`, not both."};
    if (!r.user && !r.group) return Error{Errc::bad_request, "Specify exactly one of `user` or `group`"};
  }
  if (r.scopes && r.scopes->empty()) r.scopes.reset();
  return r;
}

struct SharesApi {
  std::shared_ptr<Api const> a;

  // --- lookups (blocking) -----------------------------------------------------------------
  // The server `owner/server`: the default one always exists; a named one while the store
  // records it running, or while it is defined (JupyterHub 6.0's PUT: JupyterHub shares any
  // server it has a Spawner row for, stopped or not). not_found: "No such server: owner/server".
  Result<store::UserRow> owner_with_server(std::string const& owner, std::string const& server) const {
    auto u = a->d.store.get_user(owner);
    auto missing = Error{Errc::not_found, fmt::format("No such server: {}/{}", owner, server)};
    if (!u) return u.error().code == Errc::not_found ? missing : u.error();
    if (server.empty()) return u;
    auto row = a->d.store.get_server(u->id, server);
    if (row) return u;
    if (row.error().code != Errc::not_found) return row.error();
    auto defined = a->d.store.get_named_server(u->id, server);
    if (!defined) return defined.error();
    if (!*defined) return missing;
    return u;
  }

  // --- models -----------------------------------------------------------------------------
  json::object server_model(std::string const& owner, std::string const& server) const {
    auto v = a->d.servers.view(owner, server);
    auto url = a->d.servers.prefix_for(owner, server);
    std::string public_url = a->d.cfg.load()->public_url;
    while (!public_url.empty() && public_url.back() == '/') public_url.pop_back();
    return json::object{{"user", json::object{{"name", owner}}},
                        {"name", server},
                        {"url", url},
                        {"full_url", public_url.empty() ? json::value(nullptr) : json::value(public_url + url)},
                        {"ready", v.state == hub::ServerState::ready}};
  }
  json::array scope_list(std::vector<std::string> const& scopes) const {
    json::array out;
    for (auto const& s : scopes) out.emplace_back(s);
    return out;
  }
  json::object share_model(store::ShareRow const& s) const {
    return json::object{
        {"server", server_model(s.owner_name, s.server_name)},
        {"scopes", scope_list(s.scopes)},
        {"user", s.user_name ? json::value(json::object{{"name", *s.user_name}}) : json::value(nullptr)},
        {"group", s.group_name ? json::value(json::object{{"name", *s.group_name}}) : json::value(nullptr)},
        {"kind", s.group_id ? "group" : "user"},
        {"created_at", iso8601(s.created)},
    };
  }
  json::object code_model(store::ShareCodeRow const& c, std::string const* code = nullptr) const {
    json::object m{
        {"server", server_model(c.owner_name, c.server_name)},
        {"scopes", scope_list(c.scopes)},
        {"id", hub::share_code_id(c.id)},
        {"created_at", iso8601(c.created)},
        {"expires_at", iso8601(c.expires)},
        {"exchange_count", c.exchange_count},
        {"last_exchanged_at", iso_or_null(c.last_exchanged)},
        {"max_exchanges", c.max_exchanges ? json::value(*c.max_exchanges) : json::value(nullptr)},
    };
    if (code) {
      auto accept = a->hub("accept-share") + "?code=" + url_encode(*code);
      std::string public_url = a->d.cfg.load()->public_url;
      while (!public_url.empty() && public_url.back() == '/') public_url.pop_back();
      m["code"] = *code;
      m["accept_url"] = accept;
      m["full_accept_url"] = public_url.empty() ? json::value(nullptr) : json::value(public_url + accept);
    }
    return m;
  }
  // JupyterHub's share lists are always paginated.
  Checked<Api::Page> page(Context const& ctx) const {
    auto pg = a->page(ctx);
    if (auto* p = std::get_if<Api::Page>(&pg)) p->envelope = true;
    return pg;
  }

  // --- /shares/{owner}[/{server}] ---------------------------------------------------------
  static std::optional<std::string> server_param(Context const& ctx) {
    if (ctx.params.size() > 1) return ctx.params[1];
    // `/shares/{owner}/` names the default server; `/shares/{owner}` names none.
    if (!ctx.raw_target.empty()) {
      auto path = std::string_view(ctx.raw_target).substr(0, ctx.raw_target.find('?'));
      if (path.ends_with("/")) return std::string{};
    }
    return std::nullopt;
  }

  // The owner's groups for `!group=` filters; an unknown owner has none.
  net::awaitable<std::vector<std::string>> groups_of(std::string name) const {
    auto work = [this, name]() { return a->d.store.get_user(name); };
    auto u = co_await a->blocking(std::move(work));
    co_return u ? u->groups : std::vector<std::string>{};
  }

  // How a path names its server: always one (a missing name is the default server), or
  // possibly none (`/shares/{owner}`: every server of the owner).
  enum class Naming { one_server, server_or_all };
  struct OnServer {
    Caller caller;
    hub::ScopeTarget target;  // user = the owner; server = the server, nullopt for all
  };
  // Every /shares/{owner}[/{server}] and /share-codes/... handler starts here: the caller,
  // and the check that it holds `scope` on the owner's server (the owner's groups count for
  // `!group=` filters).
  net::awaitable<Checked<OnServer>> on_server(Context& ctx, std::string scope, Naming naming) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto owner = ctx.params[0];
    auto server = server_param(ctx);
    if (naming == Naming::one_server && !server) server = "";
    auto owner_groups = co_await groups_of(owner);
    OnServer on{std::move(std::get<Caller>(cr)), {}};
    on.target.user = std::move(owner);
    on.target.user_groups = std::move(owner_groups);
    on.target.server = std::move(server);
    if (auto deny = a->need(on.caller, {scope}, on.target)) co_return std::move(*deny);
    co_return on;
  }

  // GET /shares/{owner}[/{server}]: read:shares
  net::awaitable<Response> list(Context& ctx) const {
    auto on = co_await on_server(ctx, "read:shares", Naming::server_or_all);
    if (auto* r = std::get_if<Response>(&on)) co_return std::move(*r);
    auto const& [c, t] = std::get<OnServer>(on);
    auto owner = *t.user;
    auto server = t.server;
    auto pg = page(ctx);
    if (auto* r = std::get_if<Response>(&pg)) co_return std::move(*r);
    auto p = std::get<Api::Page>(pg);
    auto work = [this, owner, server, p]() -> Result<std::pair<std::vector<store::ShareRow>, std::int64_t>> {
      store::UserRow u;
      if (server) {
        auto o = owner_with_server(owner, *server);
        if (!o) return o.error();
        u = std::move(*o);
      } else {
        auto o = a->d.store.get_user(owner);
        if (!o) return o.error().code == Errc::not_found ? Error{Errc::not_found, fmt::format("No such user: {}", owner)} : o.error();
        u = std::move(*o);
      }
      return a->d.store.list_shares({.owner_id = u.id, .server_name = server}, p.offset, p.limit);
    };
    auto r = co_await a->blocking(std::move(work));
    if (!r) co_return a->error_from(r.error());
    json::array items;
    for (auto const& s : r->first) items.push_back(share_model(s));
    co_return a->json(200, a->paged(ctx, p, std::move(items), r->second));
  }

  // Whom a grant or revoke names, resolved; nullopt with `missing` set when they do not exist.
  struct Target {
    std::optional<store::ShareTarget> target;
    std::string missing;
  };
  Result<Target> resolve_target(ShareRequest const& req) const {
    Target out;
    if (req.user) {
      auto u = a->d.store.get_user(*req.user);
      if (u) out.target = store::ShareTarget{store::ShareTarget::Kind::user, u->id};
      else if (u.error().code == Errc::not_found) out.missing = fmt::format("No such user: {}", *req.user);
      else return u.error();
    } else {
      auto g = a->d.store.get_group(*req.group);
      if (g) out.target = store::ShareTarget{store::ShareTarget::Kind::group, g->id};
      else if (g.error().code == Errc::not_found) out.missing = fmt::format("No such group: {}", *req.group);
      else return g.error();
    }
    return out;
  }

  // Every filtered scope must be one the caller holds on this server.
  std::optional<Response> may_grant(Caller const& c, std::vector<std::string> const& scopes,
                                    hub::ScopeTarget const& server) const {
    for (auto const& s : scopes)
      if (!hub::has_scope(c.scope_set, hub::parse_scope(s).base, server))
        return a->error(403, fmt::format("Do not have permission to grant share with scope {}", s));
    return std::nullopt;
  }

  // POST /shares/{owner}/{server}: shares
  net::awaitable<Response> grant(Context& ctx) const {
    auto on = co_await on_server(ctx, "shares", Naming::one_server);
    if (auto* r = std::get_if<Response>(&on)) co_return std::move(*r);
    auto const& [c, t] = std::get<OnServer>(on);
    auto owner = *t.user;
    auto server = *t.server;
    auto b = a->body(ctx);
    if (auto* r = std::get_if<Response>(&b)) co_return std::move(*r);
    auto req = parse_request(std::get<json::value>(b), false);
    if (!req) co_return a->error_from(req.error());
    auto scopes = hub::filter_share_scopes(req->scopes.value_or(hub::default_share_scopes(owner, server)), owner, server);
    if (!scopes) co_return a->error_from(scopes.error());
    auto work1 = [this, owner, server]() { return owner_with_server(owner, server); };
    auto found = co_await a->blocking(std::move(work1));
    if (!found) co_return a->error_from(found.error());
    if (auto deny = may_grant(c, *scopes, t)) co_return std::move(*deny);
    // Naming whom to share with needs permission to read that name (JupyterHub 5).
    if (req->user) {
      auto groups = co_await groups_of(*req->user);
      if (!hub::has_scope(c.scope_set, "read:users:name", {.user = *req->user, .user_groups = groups}))
        co_return a->error(403, "Need scope 'read:users:name' to share with users by name");
    } else if (!hub::has_scope(c.scope_set, "read:groups:name", {.group = *req->group})) {
      co_return a->error(403, "Need scope 'read:groups:name' to share with groups by name");
    }
    auto now = a->d.clock ? a->d.clock->now() : std::chrono::system_clock::now();
    auto work = [this, req = *req, owner, owner_id = found->id, server, scopes = *scopes, now]() -> Result<store::ShareRow> {
      auto target = resolve_target(req);
      if (!target) return target.error();
      if (!target->target) return Error{Errc::bad_request, target->missing};
      auto share = a->d.store.grant_share(owner_id, server, *target->target, scopes, now);
      if (share && a->d.share_access)
        a->d.share_access->after_grant(owner, server, a->d.share_access->users_of(*target->target));
      return share;
    };
    auto share = co_await a->blocking(std::move(work));
    if (!share) co_return a->error_from(share.error());
    a->d.log.info("shared {}/{} with {} {}: {}", owner, server, share->group_name ? "group" : "user",
                  share->group_name.value_or(share->user_name.value_or("")), fmt::join(share->scopes, " "));
    co_return a->json(200, share_model(*share));
  }

  // PATCH /shares/{owner}/{server}: shares. Removes the named scopes (all when none are named);
  // an unknown user or group revokes nothing ({}), as in JupyterHub.
  net::awaitable<Response> revoke(Context& ctx) const {
    auto on = co_await on_server(ctx, "shares", Naming::one_server);
    if (auto* r = std::get_if<Response>(&on)) co_return std::move(*r);
    auto const& [c, t] = std::get<OnServer>(on);
    auto owner = *t.user;
    auto server = *t.server;
    auto b = a->body(ctx);
    if (auto* r = std::get_if<Response>(&b)) co_return std::move(*r);
    auto req = parse_request(std::get<json::value>(b), false);
    if (!req) co_return a->error_from(req.error());
    auto work = [this, req = *req, owner, server]() -> Result<std::optional<store::ShareRow>> {
      auto found = owner_with_server(owner, server);
      if (!found) return found.error();
      auto target = resolve_target(req);
      if (!target) return target.error();
      if (!target->target) return std::optional<store::ShareRow>{};
      auto users = a->d.share_access ? a->d.share_access->users_of(*target->target) : std::vector<std::int64_t>{};
      auto left = a->d.store.revoke_share(found->id, server, *target->target, req.scopes);
      if (left && a->d.share_access) a->d.share_access->after_revoke(owner, server, users);
      return left;
    };
    auto left = co_await a->blocking(std::move(work));
    if (!left) co_return a->error_from(left.error());
    a->d.log.info("revoked {} of {} on {}/{}", req->scopes ? "scopes" : "all access", req->user.value_or(req->group.value_or("")),
                  owner, server);
    if (!*left) co_return a->json(200, json::object{});
    co_return a->json(200, share_model(**left));
  }

  // DELETE /shares/{owner}/{server}: shares. Every share of the server (not its codes).
  net::awaitable<Response> revoke_all(Context& ctx) const {
    auto on = co_await on_server(ctx, "shares", Naming::one_server);
    if (auto* r = std::get_if<Response>(&on)) co_return std::move(*r);
    auto const& [c, t] = std::get<OnServer>(on);
    auto owner = *t.user;
    auto server = *t.server;
    auto work = [this, owner, server]() -> Result<std::int64_t> {
      auto found = owner_with_server(owner, server);
      if (!found) return found.error();
      auto users = a->d.share_access ? a->d.share_access->reached(found->id, server) : std::vector<std::int64_t>{};
      auto n = a->d.store.delete_shares_for_server(found->id, std::string_view(server));
      if (n && a->d.share_access) a->d.share_access->after_revoke(owner, server, users);
      return n;
    };
    auto n = co_await a->blocking(std::move(work));
    if (!n) co_return a->error_from(n.error());
    a->d.log.info("deleted {} shares of {}/{}", *n, owner, server);
    co_return a->empty(204);
  }

  // --- /users/{name}/shared and /groups/{name}/shared --------------------------------------
  // GET /users/{name}/shared: read:users:shares; GET /groups/{name}/shared: read:groups:shares.
  // What is shared with a user (directly or through their groups) or with a group.
  net::awaitable<Response> user_shared(Context& ctx) const { co_return co_await shared_with(ctx, false); }
  net::awaitable<Response> group_shared(Context& ctx) const { co_return co_await shared_with(ctx, true); }
  net::awaitable<Response> shared_with(Context& ctx, bool group) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto name = ctx.params[0];
    hub::ScopeTarget t;
    if (group) {
      t.group = name;
    } else {
      t.user = name;
      t.user_groups = co_await groups_of(name);
    }
    if (auto deny = a->need(c, {group ? "read:groups:shares" : "read:users:shares"}, t)) co_return std::move(*deny);
    auto pg = page(ctx);
    if (auto* r = std::get_if<Response>(&pg)) co_return std::move(*r);
    auto p = std::get<Api::Page>(pg);
    auto work = [this, name, group, p]() -> Result<std::pair<std::vector<store::ShareRow>, std::int64_t>> {
      store::Store::ShareQuery filter;
      if (group) {
        auto g = a->d.store.get_group(name);
        if (!g) return g.error().code == Errc::not_found ? Error{Errc::not_found, fmt::format("No such group: {}", name)} : g.error();
        filter.shared_with_group = g->id;
      } else {
        auto u = a->d.store.get_user(name);
        if (!u) return u.error().code == Errc::not_found ? Error{Errc::not_found, fmt::format("No such user: {}", name)} : u.error();
        filter.shared_with_user = u->id;
      }
      return a->d.store.list_shares(filter, p.offset, p.limit);
    };
    auto r = co_await a->blocking(std::move(work));
    if (!r) co_return a->error_from(r.error());
    json::array items;
    for (auto const& s : r->first) items.push_back(share_model(s));
    co_return a->json(200, a->paged(ctx, p, std::move(items), r->second));
  }

  // The share of one user or group on one server; not_found with JupyterHub's message.
  Result<std::pair<store::ShareRow, std::int64_t>> one_share(bool group, std::string const& name, std::string const& owner,
                                                            std::string const& server) const {
    auto missing = Error{Errc::not_found, fmt::format("No such share for {} {} on {}/{}", group ? "group" : "user", name, owner, server)};
    store::ShareTarget target;
    if (group) {
      auto g = a->d.store.get_group(name);
      if (!g) return g.error().code == Errc::not_found ? missing : g.error();
      target = {store::ShareTarget::Kind::group, g->id};
    } else {
      auto u = a->d.store.get_user(name);
      if (!u) return u.error().code == Errc::not_found ? missing : u.error();
      target = {store::ShareTarget::Kind::user, u->id};
    }
    auto o = a->d.store.get_user(owner);
    if (!o) return o.error().code == Errc::not_found ? missing : o.error();
    auto s = a->d.store.find_share(o->id, server, target);
    if (!s) return s.error();
    if (!*s) return missing;
    return std::pair{std::move(**s), o->id};
  }

  static std::string shared_server(Context const& ctx) { return ctx.params.size() > 2 ? ctx.params[2] : std::string{}; }

  // GET|DELETE /users/{name}/shared/{owner}/{server}: read:users:shares | users:shares;
  // /groups/... the same with groups. DELETE lets the one shared with leave the server.
  net::awaitable<Response> single(Context& ctx, bool group, bool remove) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto name = ctx.params[0], owner = ctx.params[1], server = shared_server(ctx);
    std::string_view scope = group ? (remove ? "groups:shares" : "read:groups:shares") : (remove ? "users:shares" : "read:users:shares");
    hub::ScopeTarget t;
    if (group) t.group = name;
    else {
      auto groups = co_await groups_of(name);
      t = {.user = name, .user_groups = groups};
    }
    if (auto deny = a->need(c, {scope}, t)) co_return std::move(*deny);
    auto work = [this, group, name, owner, server, remove]() -> Result<store::ShareRow> {
      auto s = one_share(group, name, owner, server);
      if (!s) return s.error();
      if (remove) {
        auto target = s->first.group_id ? store::ShareTarget{store::ShareTarget::Kind::group, *s->first.group_id}
                                        : store::ShareTarget{store::ShareTarget::Kind::user, s->first.user_id.value_or(0)};
        auto users = a->d.share_access ? a->d.share_access->users_of(target) : std::vector<std::int64_t>{};
        if (auto r = a->d.store.revoke_share(s->second, server, target, std::nullopt); !r) return r.error();
        if (a->d.share_access) a->d.share_access->after_revoke(owner, server, users);
      }
      return std::move(s->first);
    };
    auto s = co_await a->blocking(std::move(work));
    if (!s) co_return a->error_from(s.error());
    if (remove) {
      a->d.log.info("{} {} left {}/{}", group ? "group" : "user", name, owner, server);
      co_return a->empty(204);
    }
    co_return a->json(200, share_model(*s));
  }
  // POST/PATCH/DELETE on /shares/{owner} or /share-codes/{owner}: only GET names no server.
  net::awaitable<Response> no_server(Context&) const { co_return a->error(405, "Method Not Allowed"); }

  net::awaitable<Response> user_single_get(Context& ctx) const { co_return co_await single(ctx, false, false); }
  net::awaitable<Response> user_single_delete(Context& ctx) const { co_return co_await single(ctx, false, true); }
  net::awaitable<Response> group_single_get(Context& ctx) const { co_return co_await single(ctx, true, false); }
  net::awaitable<Response> group_single_delete(Context& ctx) const { co_return co_await single(ctx, true, true); }

  // --- /share-codes/{owner}[/{server}] -----------------------------------------------------
  // GET: read:shares
  net::awaitable<Response> codes(Context& ctx) const {
    auto on = co_await on_server(ctx, "read:shares", Naming::server_or_all);
    if (auto* r = std::get_if<Response>(&on)) co_return std::move(*r);
    auto const& [c, t] = std::get<OnServer>(on);
    auto owner = *t.user;
    auto server = t.server;
    auto pg = page(ctx);
    if (auto* r = std::get_if<Response>(&pg)) co_return std::move(*r);
    auto p = std::get<Api::Page>(pg);
    auto work = [this, owner, server, p]() -> Result<std::pair<std::vector<store::ShareCodeRow>, std::int64_t>> {
      std::int64_t owner_id = 0;
      if (server) {
        auto o = owner_with_server(owner, *server);
        if (!o) return o.error();
        owner_id = o->id;
      } else {
        auto o = a->d.store.get_user(owner);
        if (!o) return o.error().code == Errc::not_found ? Error{Errc::not_found, fmt::format("No such user: {}", owner)} : o.error();
        owner_id = o->id;
      }
      std::optional<std::string_view> s;
      if (server) s = *server;
      return a->d.store.list_share_codes(owner_id, s, p.offset, p.limit);
    };
    auto r = co_await a->blocking(std::move(work));
    if (!r) co_return a->error_from(r.error());
    json::array items;
    for (auto const& code : r->first) items.push_back(code_model(code));
    co_return a->json(200, a->paged(ctx, p, std::move(items), r->second));
  }

  // POST /share-codes/{owner}/{server}: shares. The code is in this answer only.
  net::awaitable<Response> create_code(Context& ctx) const {
    auto on = co_await on_server(ctx, "shares", Naming::one_server);
    if (auto* r = std::get_if<Response>(&on)) co_return std::move(*r);
    auto const& [c, t] = std::get<OnServer>(on);
    auto owner = *t.user;
    auto server = *t.server;
    if (!a->d.random || !a->d.clock) co_return a->error(503, "Share codes are not available on this hub.");
    auto b = a->body(ctx);
    if (auto* r = std::get_if<Response>(&b)) co_return std::move(*r);
    auto req = parse_request(std::get<json::value>(b), true);
    if (!req) co_return a->error_from(req.error());
    auto scopes = hub::filter_share_scopes(req->scopes.value_or(hub::default_share_scopes(owner, server)), owner, server);
    if (!scopes) co_return a->error_from(scopes.error());
    if (auto deny = may_grant(c, *scopes, t)) co_return std::move(*deny);
    auto code = a->d.random->token(32);
    if (!code) co_return a->error(500, "The system random generator failed.");
    auto now = a->d.clock->now();
    store::ShareCodeRow row{.server_name = server, .code_hash = hub::token_hash(*code), .prefix = code->substr(0, 4),
                            .scopes = *scopes, .created = now, .expires = now + std::chrono::seconds(req->expires_in),
                            .max_exchanges = req->max_exchanges};
    auto work = [this, owner, server, row]() mutable -> Result<store::ShareCodeRow> {
      auto o = owner_with_server(owner, server);
      if (!o) return o.error();
      row.owner_id = o->id;
      return a->d.store.create_share_code(row);
    };
    auto made = co_await a->blocking(std::move(work));
    if (!made) co_return a->error_from(made.error());
    a->d.log.info("share code {}... for {}/{} expires {}", made->prefix, owner, server, iso8601(made->expires));
    co_return a->json(200, code_model(*made, &*code));
  }

  // DELETE /share-codes/{owner}/{server}[?code=|?id=]: shares
  net::awaitable<Response> delete_codes(Context& ctx) const {
    auto on = co_await on_server(ctx, "shares", Naming::one_server);
    if (auto* r = std::get_if<Response>(&on)) co_return std::move(*r);
    auto const& [c, t] = std::get<OnServer>(on);
    auto owner = *t.user;
    auto server = *t.server;
    auto code = ctx.query_param("code");
    auto id_text = ctx.query_param("id");
    std::optional<std::int64_t> id;
    if (!code && id_text) {
      id = hub::parse_share_code_id(*id_text);
      if (!id) co_return a->error(404, fmt::format("No code found matching id={}", *id_text));
    }
    auto work = [this, owner, server, code, id]() -> Result<std::int64_t> {
      auto o = owner_with_server(owner, server);
      if (!o) return o.error();
      std::optional<std::string> hash;
      if (code) hash = hub::token_hash(*code);
      return a->d.store.delete_share_codes(o->id, server, id, hash ? std::optional<std::string_view>(*hash) : std::nullopt);
    };
    auto n = co_await a->blocking(std::move(work));
    if (!n) co_return a->error_from(n.error());
    if (*n == 0 && code) co_return a->error(404, "No matching code found");
    if (*n == 0 && id) co_return a->error(404, fmt::format("No code found matching id={}", *id_text));
    a->d.log.info("deleted {} share codes of {}/{}", *n, owner, server);
    co_return a->empty(204);
  }
};

}  // namespace

void add_share_api(http::Router& router, std::shared_ptr<Api const> api) {
  auto r = std::make_shared<SharesApi const>(SharesApi{api});
  auto const& p = api->route;
  using V = http::bhttp::verb;
  // `{owner}/` is the owner's default server; `{owner}` alone only lists.
  router.get(p + "shares/{owner}", bind_api<SharesApi, &SharesApi::list>(r));
  // Registered so that the API's catch-all for unknown paths does not answer them with 404.
  for (auto v : {V::post, V::patch, V::delete_}) {
    router.add(v, p + "shares/{owner}", bind_api<SharesApi, &SharesApi::no_server>(r));
    router.add(v, p + "share-codes/{owner}", bind_api<SharesApi, &SharesApi::no_server>(r));
  }
  for (auto server : {"shares/{owner}/", "shares/{owner}/{server}"}) {
    router.get(p + server, bind_api<SharesApi, &SharesApi::list>(r));
    router.post(p + server, bind_api<SharesApi, &SharesApi::grant>(r));
    router.add(V::patch, p + server, bind_api<SharesApi, &SharesApi::revoke>(r));
    router.add(V::delete_, p + server, bind_api<SharesApi, &SharesApi::revoke_all>(r));
  }
  router.get(p + "share-codes/{owner}", bind_api<SharesApi, &SharesApi::codes>(r));
  for (auto server : {"share-codes/{owner}/", "share-codes/{owner}/{server}"}) {
    router.get(p + server, bind_api<SharesApi, &SharesApi::codes>(r));
    router.post(p + server, bind_api<SharesApi, &SharesApi::create_code>(r));
    router.add(V::delete_, p + server, bind_api<SharesApi, &SharesApi::delete_codes>(r));
  }
  router.get(p + "users/{name}/shared", bind_api<SharesApi, &SharesApi::user_shared>(r));
  router.get(p + "groups/{name}/shared", bind_api<SharesApi, &SharesApi::group_shared>(r));
  for (auto server : {"/", "/{server}"}) {
    router.get(p + "users/{name}/shared/{owner}" + server, bind_api<SharesApi, &SharesApi::user_single_get>(r));
    router.add(V::delete_, p + "users/{name}/shared/{owner}" + server, bind_api<SharesApi, &SharesApi::user_single_delete>(r));
    router.get(p + "groups/{name}/shared/{owner}" + server, bind_api<SharesApi, &SharesApi::group_single_get>(r));
    router.add(V::delete_, p + "groups/{name}/shared/{owner}" + server, bind_api<SharesApi, &SharesApi::group_single_delete>(r));
  }
}

}  // namespace nbhub::web
