// The token page (/hub/token), the admin page (/hub/admin) and /hub/error/{code}: server-rendered HTML forms,
// no script, every POST carrying `_xsrf`. They act through the same store and server manager
// as the REST API and check the same scopes (tokens!user=me, admin-ui, admin:users, ...).
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "config/config.hpp"
#include "hub/roles.hpp"
#include "hub/servers.hpp"
#include "hub/tokens.hpp"
#include "store/store.hpp"
#include "web/api_common.hpp"
#include "web/form.hpp"
#include "web/html.hpp"

namespace nbhub::web {

namespace net = boost::asio;
using http::Context;
using http::Response;

namespace {

constexpr std::int64_t kAdminPageSize = 25;

std::string first(std::multimap<std::string, std::string> const& m, std::string const& k) {
  auto it = m.find(k);
  return it == m.end() ? std::string{} : it->second;
}

std::string when(std::optional<Clock::SysTime> t) {
  if (!t) return "never";
  auto s = iso8601(t);
  return s.substr(0, 16).replace(10, 1, " ") + " UTC";
}

struct AccountPages {
  std::shared_ptr<Api const> a;

  std::string hub(std::string_view rest = "") const { return a->hub(rest); }

  Response page(unsigned status, std::string title, std::string body, Caller const& c) const {
    auto res = http::html_response(status, render({std::move(title), std::move(body),
                                                   PageUser{c.user.name, a->d.auth.roles()->is_admin(c.user)}, a->base}));
    res.set("Cache-Control", "no-store");
    return res;
  }
  Response error_page(unsigned status, std::string_view msg, Caller const& c) const {
    return page(status, status == 403 ? "Not allowed" : "Error", error_body(status, msg, hub("home"), "Home"), c);
  }

  net::awaitable<std::optional<Caller>> signed_in(Context& ctx, Response& go) const {
    auto c = co_await a->d.auth.from_cookie(ctx);
    if (!c) go = http::redirect_response(hub("login") + "?next=" + url_encode(ctx.raw_target));
    co_return c;
  }

  // For POSTs: the form, or nullopt after a failed _xsrf check (then `go` holds the 403 page).
  std::optional<std::multimap<std::string, std::string>> form(Context& ctx, Caller const& c, Response& go) const {
    auto f = parse_form(ctx.req.body());
    if (!a->d.auth.xsrf_ok(ctx, c, first(f, "_xsrf"))) {
      go = error_page(403, "This form expired or did not come from this hub. Go back, reload and try again.", c);
      return std::nullopt;
    }
    return f;
  }

  std::string xsrf_input(Caller const& c) const {
    return fmt::format(R"(<input type="hidden" name="_xsrf" value="{}">)", escape(a->d.auth.xsrf_for(c.session_hash)));
  }

  // --- /hub/token ------------------------------------------------------------------------------

  net::awaitable<Response> token_page(Context& ctx) const {
    Response go;
    auto c = co_await signed_in(ctx, go);
    if (!c) co_return go;
    auto work = [this, id = c->user.id, name = c->user.name]() -> Result<std::vector<boost::json::object>> {
      auto tokens = a->d.store.list_tokens(id);
      if (!tokens) return tokens.error();
      std::vector<boost::json::object> out;
      for (auto const& t : *tokens)
        if (t.kind == "api" || t.kind == "oauth") {
          auto m = a->token_model(t, name);
          m["kind_raw"] = t.kind;
          out.push_back(std::move(m));
        }
      return out;
    };
    auto tokens = co_await a->blocking(std::move(work));
    if (!tokens) co_return error_page(503, tokens.error().message, *c);
    std::string body = R"(<section class="card"><h1>API tokens</h1>)";
    body += fmt::format(
        R"(<form class="stack" method="post" action="{}">{})"
        R"(<label for="note">Note <span class="muted">(what the token is for)</span></label>)"
        R"(<input id="note" name="note" type="text" maxlength="200" placeholder="e.g. grading script">)"
        R"(<label for="expires_in">Expires</label>)"
        R"(<select id="expires_in" name="expires_in"><option value="3600">in 1 hour</option><option value="86400">in 1 day</option>)"
        R"(<option value="604800" selected>in 1 week</option><option value="2592000">in 30 days</option><option value="">never</option></select>)"
        R"(<label for="scopes">Scopes <span class="muted">(space-separated; empty = everything you can do)</span></label>)"
        R"(<input id="scopes" name="scopes" type="text" placeholder="e.g. read:users!user={} servers!user={}">)"
        R"(<button class="button primary" type="submit">Request new API token</button></form></section>)",
        escape(hub("token")), xsrf_input(*c), escape(c->user.name), escape(c->user.name));
    body += R"(<section class="card"><h2>Your tokens</h2>)";
    if (tokens->empty()) {
      body += R"(<p class="muted">You have no API tokens.</p>)";
    } else {
      body += R"(<div class="table-wrap"><table><caption class="sr-only">Your API tokens</caption><thead><tr><th scope="col">Note</th><th scope="col">Scopes</th><th scope="col">Last used</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody>)";
      for (auto const& t : *tokens) {
        std::string scopes;
        for (auto const& s : t.at("scopes").as_array()) scopes += std::string(s.as_string()) + " ";
        auto str = [&](char const* k) { return t.at(k).is_string() ? std::string(t.at(k).as_string()) : std::string("never"); };
        auto date = [&](char const* k) { auto s = str(k); return s == "never" ? s : s.substr(0, 16).replace(10, 1, " "); };
        auto id = std::string(t.at("id").as_string());
        body += fmt::format(
            R"(<tr><td>{}</td><td class="scopes">{}</td><td>{}</td><td>{}</td><td>{}</td><td><form method="post" action="{}">{}<input type="hidden" name="id" value="{}"><button class="button small danger" type="submit" aria-label="Revoke token {}">Revoke</button></form></td></tr>)",
            escape(str("note")), escape(scopes), escape(date("last_activity")), escape(date("created")), escape(date("expires_at")),
            escape(hub("token/revoke")), xsrf_input(*c), escape(id), escape(str("note")));
      }
      body += "</tbody></table></div>";
    }
    body += "</section>";
    co_return page(200, "API tokens", body, *c);
  }

  net::awaitable<Response> token_create(Context& ctx) const {
    Response go;
    auto c = co_await signed_in(ctx, go);
    if (!c) co_return go;
    auto f = form(ctx, *c, go);
    if (!f) co_return go;
    if (!hub::has_scope(c->scope_set, "tokens", a->user_target(c->user)))
      co_return error_page(403, "You may not create tokens.", *c);
    store::TokenRow spec{.user_id = c->user.id, .kind = "api"};
    spec.note = first(*f, "note").substr(0, 200);
    if (spec.note.empty()) spec.note = "Requested via token page";
    if (auto e = first(*f, "expires_in"); !e.empty()) {
      std::int64_t secs = 0;
      auto [p, ec] = std::from_chars(e.data(), e.data() + e.size(), secs);
      if (ec != std::errc() || secs <= 0 || secs > 10LL * 365 * 86400)
        co_return error_page(400, "The expiry must be a positive number of seconds.", *c);
      if (auto max = a->d.cfg.load()->token_expires_in_max.count(); max > 0 && secs > max)
        co_return error_page(400, fmt::format("Tokens on this hub expire within {} seconds at most.", max), *c);
      spec.expires_at = std::chrono::system_clock::now() + std::chrono::seconds(secs);
    } else if (auto max = a->d.cfg.load()->token_expires_in_max; max.count() > 0) {
      spec.expires_at = std::chrono::system_clock::now() + max;  // "never" is capped too
    }
    std::string scopes = first(*f, "scopes");
    std::size_t pos = 0;
    while (pos < scopes.size()) {
      auto end = scopes.find_first_of(" ,\n\t", pos);
      if (end == std::string::npos) end = scopes.size();
      auto s = scopes.substr(pos, end - pos);
      pos = end + 1;
      if (s.empty()) continue;
      if (auto problem = hub::scope_problem(s)) co_return error_page(400, *problem, *c);
      spec.scopes.push_back(s);
    }
    auto issued = co_await a->d.tokens.issue_async(std::move(spec));
    if (!issued) co_return error_page(503, issued.error().message, *c);
    a->d.log.info("token a{} created for {} on the token page", issued->row.id, c->user.name);
    // Shown once, on this response only; never stored or logged.
    std::string body = fmt::format(
        R"(<section class="card" role="status"><h1>Your new API token</h1>)"
        R"(<p>Copy it now: it is not shown again.</p><p><label for="new-token">Token</label><input id="new-token" class="token" readonly value="{}"></p>)"
        R"(<p class="muted">Use it as <code>Authorization: token &lt;token&gt;</code>.</p><a class="button primary" href="{}">Back to your tokens</a></section>)",
        escape(issued->raw), escape(hub("token")));
    co_return page(200, "New API token", body, *c);
  }

  net::awaitable<Response> token_revoke(Context& ctx) const {
    Response go;
    auto c = co_await signed_in(ctx, go);
    if (!c) co_return go;
    auto f = form(ctx, *c, go);
    if (!f) co_return go;
    auto id = first(*f, "id");
    std::int64_t n = 0;
    if (id.size() < 2 || id[0] != 'a' || std::from_chars(id.data() + 1, id.data() + id.size(), n).ec != std::errc())
      co_return error_page(400, "No such token.", *c);
    auto work = [this, uid = c->user.id, n]() -> Result<bool> {
      auto tokens = a->d.store.list_tokens(uid);
      if (!tokens) return tokens.error();
      for (auto const& t : *tokens)
        if (t.id == n) {
          if (t.kind == "oauth" && t.oauth_client_id) {
            for (auto const& o : *tokens)
              if (o.oauth_client_id == t.oauth_client_id) (void)a->d.store.delete_token(o.id);
            return true;
          }
          return a->d.store.delete_token(n);
        }
      return false;
    };
    auto r = co_await a->blocking(std::move(work));
    if (!r || !*r) co_return error_page(404, "No such token.", *c);
    co_return http::redirect_response(hub("token"), 303);
  }

  // --- /hub/admin ------------------------------------------------------------------------------

  std::string admin_url(std::string const& q, std::int64_t offset) const {
    auto u = hub("admin");
    std::string sep = "?";
    if (!q.empty()) { u += sep + "q=" + url_encode(q); sep = "&"; }
    if (offset > 0) u += sep + "offset=" + std::to_string(offset);
    return u;
  }

  net::awaitable<Response> admin(Context& ctx) const {
    Response go;
    auto c = co_await signed_in(ctx, go);
    if (!c) co_return go;
    if (!hub::has_scope(c->scope_set, "admin-ui")) co_return error_page(403, "The admin page is for administrators.", *c);
    auto q = ctx.query_param("q").value_or("");
    std::int64_t offset = 0;
    if (auto o = ctx.query_param("offset")) std::from_chars(o->data(), o->data() + o->size(), offset);
    offset = std::max<std::int64_t>(0, offset);
    auto work = [this]() -> Result<std::pair<std::vector<store::UserRow>, std::vector<store::GroupRow>>> {
      auto n = a->d.store.count_users();
      if (!n) return n.error();
      auto users = a->d.store.list_users(0, *n);
      if (!users) return users.error();
      auto groups = a->d.store.list_groups(0, 1000);
      if (!groups) return groups.error();
      return std::pair{std::move(*users), std::move(*groups)};
    };
    auto data = co_await a->blocking(std::move(work));
    if (!data) co_return error_page(503, data.error().message, *c);
    auto lower = [](std::string s) {
      for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      return s;
    };
    std::vector<store::UserRow const*> users;
    for (auto const& u : data->first)
      if (q.empty() || lower(u.name).find(lower(q)) != std::string::npos) users.push_back(&u);
    auto total = static_cast<std::int64_t>(users.size());
    auto x = xsrf_input(*c);

    std::string body = R"(<section class="card"><h1>Users</h1>)";
    body += fmt::format(
        R"(<form class="inline" method="get" action="{}" role="search"><label for="q">Search users</label>)"
        R"(<input id="q" name="q" type="search" value="{}"><button class="button" type="submit">Search</button></form>)",
        escape(hub("admin")), escape(q));
    body += R"(<div class="table-wrap"><table><caption class="sr-only">Users</caption><thead><tr><th scope="col">User</th><th scope="col">Admin</th><th scope="col">Server</th><th scope="col">Last activity</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody>)";
    for (auto i = offset; i < total && i < offset + kAdminPageSize; ++i) {
      auto const& u = *users[static_cast<std::size_t>(i)];
      auto v = a->d.servers.view(u.name, "");
      std::string state(hub::to_string(v.state));
      auto action = [&](std::string_view path, std::string_view label, std::string_view cls) {
        return fmt::format(R"(<form method="post" action="{}">{}<input type="hidden" name="user" value="{}"><button class="button small {}" type="submit" aria-label="{} {}">{}</button></form>)",
                           escape(hub(path)), x, escape(u.name), cls, escape(label), escape(u.name), escape(label));
      };
      std::string actions = v.state == hub::ServerState::stopped ? action("admin/start", "Start server", "")
                            : action("admin/stop", "Stop server", "");
      actions += action("admin/toggle-admin", u.admin ? "Revoke admin" : "Make admin", "");
      if (u.name != c->user.name) actions += action("admin/delete", "Delete user", "danger");
      body += fmt::format(R"(<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="actions">{}</td></tr>)",
                          escape(u.name), u.admin ? "yes" : "no",
                          v.state == hub::ServerState::ready ? fmt::format(R"(<a href="{}">running</a>)", escape(a->d.servers.prefix_for(u.name, ""))) : escape(state),
                          escape(when(u.last_activity)), actions);
    }
    body += "</tbody></table></div>";
    body += R"(<nav class="pager" aria-label="Pages">)";
    if (offset > 0) body += fmt::format(R"(<a href="{}">Previous</a>)", escape(admin_url(q, std::max<std::int64_t>(0, offset - kAdminPageSize))));
    body += fmt::format(R"(<span class="muted">{}–{} of {}</span>)", total == 0 ? 0 : offset + 1, std::min(total, offset + kAdminPageSize), total);
    if (offset + kAdminPageSize < total) body += fmt::format(R"(<a href="{}">Next</a>)", escape(admin_url(q, offset + kAdminPageSize)));
    body += "</nav></section>";

    body += fmt::format(
        R"(<section class="card"><h2>Add users</h2><form class="stack" method="post" action="{}">{})"
        R"(<label for="usernames">User names <span class="muted">(one per line)</span></label><textarea id="usernames" name="usernames" rows="3"></textarea>)"
        R"(<label class="check"><input type="checkbox" name="admin" value="1"> Administrators</label>)"
        R"(<button class="button primary" type="submit">Add users</button></form></section>)",
        escape(hub("admin/add-users")), x);

    body += R"(<section class="card"><h2>Groups</h2>)";
    if (data->second.empty()) body += R"(<p class="muted">No groups yet.</p>)";
    else {
      body += "<ul class=\"groups\">";
      for (auto const& g : data->second) {
        std::string members;
        for (auto const& m : g.members) members += (members.empty() ? "" : ", ") + m;
        body += fmt::format(R"(<li><strong>{}</strong> <span class="muted">{}</span></li>)", escape(g.name), escape(members.empty() ? "no members" : members));
      }
      body += "</ul>";
    }
    body += fmt::format(
        R"(<form class="stack" method="post" action="{}">{}<label for="group">New group</label><input id="group" name="group" type="text">)"
        R"(<label for="members">Members <span class="muted">(space-separated user names)</span></label><input id="members" name="members" type="text">)"
        R"(<button class="button" type="submit">Create group</button></form></section>)",
        escape(hub("admin/add-group")), x);
    co_return page(200, "Admin", body, *c);
  }

  // POST /hub/admin/<action>
  net::awaitable<Response> admin_action(Context& ctx) const {
    Response go;
    auto c = co_await signed_in(ctx, go);
    if (!c) co_return go;
    auto f = form(ctx, *c, go);
    if (!f) co_return go;
    if (!hub::has_scope(c->scope_set, "admin-ui")) co_return error_page(403, "The admin page is for administrators.", *c);
    auto action = ctx.params[0];
    auto user = first(*f, "user");
    auto back = http::redirect_response(hub("admin"), 303);
    auto need = [&](std::string_view scope) { return hub::has_scope(c->scope_set, scope, hub::ScopeTarget{.user = user}); };
    if (action == "start") {
      if (!need("servers")) co_return error_page(403, "You may not start servers.", *c);
      auto work = [this, user]() { return a->d.store.get_user(user); };
      auto u = co_await a->blocking(std::move(work));
      if (!u) co_return error_page(404, "No such user.", *c);
      if (auto r = a->d.servers.start(*u, ""); !r) co_return error_page(400, r.error().message, *c);
    } else if (action == "stop") {
      if (!need("servers")) co_return error_page(403, "You may not stop servers.", *c);
      auto r = co_await a->d.servers.stop(user, "");
      if (!r) co_return error_page(400, r.error().message, *c);
    } else if (action == "toggle-admin") {
      if (!need("admin:users")) co_return error_page(403, "You may not change users.", *c);
      auto work = [this, user]() -> Result<void> {
        auto u = a->d.store.get_user(user);
        if (!u) return u.error();
        return a->d.store.set_admin(user, !u->admin);
      };
      if (auto r = co_await a->blocking(std::move(work)); !r) co_return error_page(400, r.error().message, *c);
    } else if (action == "delete") {
      if (!need("delete:users")) co_return error_page(403, "You may not delete users.", *c);
      if (user == c->user.name) co_return error_page(400, "You cannot delete yourself.", *c);
      for (auto const& [server, v] : a->d.servers.views_for(user))
        if (v.state != hub::ServerState::stopped) (void)co_await a->d.servers.stop(user, server);
      auto work = [this, user]() { return a->d.store.delete_user(user); };
      if (auto r = co_await a->blocking(std::move(work)); !r) co_return error_page(400, r.error().message, *c);
    } else if (action == "add-users") {
      if (!hub::has_scope(c->scope_set, "admin:users")) co_return error_page(403, "You may not add users.", *c);
      std::vector<std::string> names;
      auto text = first(*f, "usernames");
      std::size_t pos = 0;
      while (pos < text.size()) {
        auto end = text.find_first_of(" ,\r\n\t", pos);
        if (end == std::string::npos) end = text.size();
        auto n = text.substr(pos, end - pos);
        pos = end + 1;
        if (n.empty()) continue;
        if (n.find('/') != std::string::npos || n.size() > 255) co_return error_page(400, "Invalid user name: " + n, *c);
        names.push_back(n);
      }
      bool admin = !first(*f, "admin").empty();
      auto work = [this, names, admin]() -> Result<void> {
        for (auto const& n : names) {
          auto r = a->d.store.create_user(n, admin);
          if (!r && r.error().code != Errc::conflict) return r.error();
        }
        return {};
      };
      if (auto r = co_await a->blocking(std::move(work)); !r) co_return error_page(400, r.error().message, *c);
    } else if (action == "add-group") {
      if (!hub::has_scope(c->scope_set, "admin:groups")) co_return error_page(403, "You may not add groups.", *c);
      auto name = first(*f, "group");
      if (name.empty() || name.find('/') != std::string::npos) co_return error_page(400, "Give the group a name without '/'.", *c);
      std::vector<std::string> members;
      auto text = first(*f, "members");
      std::size_t pos = 0;
      while (pos < text.size()) {
        auto end = text.find_first_of(" ,\t", pos);
        if (end == std::string::npos) end = text.size();
        if (end > pos) members.push_back(text.substr(pos, end - pos));
        pos = end + 1;
      }
      auto work = [this, name, members]() -> Result<void> {
        if (auto g = a->d.store.add_group(name, boost::json::object{}); !g) return g.error();
        if (!members.empty()) return a->d.store.set_group_members(name, members);
        return {};
      };
      if (auto r = co_await a->blocking(std::move(work)); !r) co_return error_page(400, r.error().message, *c);
    } else {
      co_return error_page(404, "No such action.", *c);
    }
    a->d.log.info("admin page: {} {} by {}", action, user, c->user.name);
    co_return back;
  }

  // GET /hub/error/{code}: the page a proxy's --error-target shows (JupyterHub's
  // ProxyErrorHandler). Anyone may see it; the status is the one asked for.
  net::awaitable<Response> proxy_error(Context& ctx) const {
    unsigned status = 500;
    auto const& code = ctx.params[0];
    unsigned v = 0;
    if (std::from_chars(code.data(), code.data() + code.size(), v).ec == std::errc() && v >= 400 && v <= 599) status = v;
    auto message = status == 503 ? std::string("Your server appears to be down. Try restarting it from the hub.")
                   : status == 404 ? std::string("This page does not exist.")
                                   : fmt::format("The proxy could not reach the page (error {}).", status);
    auto c = co_await a->d.auth.from_cookie(ctx);
    std::optional<PageUser> who;
    if (c) who = PageUser{c->user.name, a->d.auth.roles()->is_admin(c->user)};
    co_return http::html_response(status, render({status == 503 ? "Server unavailable" : "Error",
                                                  error_body(status, message, hub("home"), "Go to your home page"), who, a->base}));
  }
};

}  // namespace

void add_account_pages(http::Router& router, std::shared_ptr<Api const> api) {
  auto r = std::make_shared<AccountPages const>(AccountPages{api});
  auto h = api->route.substr(0, api->route.size() - 4);  // ".../hub/"
  router.get(h + "token", bind_api<AccountPages, &AccountPages::token_page>(r));
  router.post(h + "token", bind_api<AccountPages, &AccountPages::token_create>(r));
  router.post(h + "token/revoke", bind_api<AccountPages, &AccountPages::token_revoke>(r));
  router.get(h + "admin", bind_api<AccountPages, &AccountPages::admin>(r));
  router.post(h + "admin/{action}", bind_api<AccountPages, &AccountPages::admin_action>(r));
  router.get(h + "error/{code}", bind_api<AccountPages, &AccountPages::proxy_error>(r));
}

}  // namespace nbhub::web
