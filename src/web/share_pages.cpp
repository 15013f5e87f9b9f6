// Sharing pages (JupyterHub 5.0, docs/sharing.md): /hub/accept-share, where a signed-in person
// exchanges a share code for access, and the home page's sharing section (make a share code,
// see and revoke shares and codes, leave servers shared with you). The REST API does the same
// through api_shares.cpp; these forms are for people.
#include "web/share_pages.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "config/config.hpp"
#include "core/next_url.hpp"
#include "core/random.hpp"
#include "hub/blocking.hpp"
#include "hub/servers.hpp"
#include "hub/share_access.hpp"
#include "hub/shares.hpp"
#include "hub/tokens.hpp"
#include "store/store.hpp"
#include "web/api_common.hpp"
#include "web/base_url.hpp"
#include "web/form.hpp"
#include "web/html.hpp"
#include "web/request_auth.hpp"

namespace nbhub::web {

namespace net = boost::asio;
using http::Context;
using http::Response;

namespace {

// The lifetimes offered on the home page, in seconds (the API takes any from 60 s to a year).
constexpr std::pair<std::int64_t, std::string_view> kCodeLifetimes[] = {
    {3600, "1 hour"}, {86400, "1 day"}, {7 * 86400, "1 week"}, {30 * 86400, "30 days"}};

struct SharePages {
  ServerRouteDeps const& d;
  std::string base;

  std::string hub(std::string_view rest = "") const { return base + "hub/" + std::string(rest); }

  Response page(unsigned status, std::string title, std::string body, Caller const& c) const {
    return http::html_response(status, render({std::move(title), std::move(body), PageUser{c.user.name, c.user.admin}, base}));
  }
  Response error_page(unsigned status, std::string message, Caller const& c, std::string title = "Cannot accept") const {
    return page(status, status == 404 ? "Not found" : std::move(title), error_body(status, message, hub("home"), "Home"), c);
  }

  net::awaitable<std::optional<Caller>> signed_in(Context& ctx, Response& redirect) const {
    auto c = co_await d.auth.from_cookie(ctx);
    if (!c) redirect = http::redirect_response(hub("login") + "?next=" + url_encode(ctx.raw_target));
    co_return c;
  }

  // Where to go after accepting: a valid `next` (same gate as every other next URL), else the
  // shared server. Either way a path, HTML-escaped wherever it is shown (GHSA-c4gm-pwx9-9w8j).
  std::string next_or_server(std::string_view raw_next, store::ShareCodeRow const& code) const {
    if (!raw_next.empty())
      if (auto ok = validate_next_url(raw_next, {base}); ok && !ok->empty()) return *ok;
    return d.servers.prefix_for(code.owner_name, code.server_name);
  }

  template <class F>
  auto blocking(F f) const { return hub::run_blocking(d.pool, std::move(f)); }

  // GET /hub/accept-share?code=...[&next=...]
  net::awaitable<Response> accept_page(Context& ctx) const {
    Response go;
    auto c = co_await signed_in(ctx, go);
    if (!c) co_return go;
    auto code = ctx.query_param("code").value_or("");
    if (code.empty()) co_return error_page(400, "This link has no share code in it.", *c);
    auto work1 = [this, h = hub::token_hash(code)]() { return d.store.find_share_code(h); };
    auto found = co_await blocking(std::move(work1));
    if (!found) {
      if (found.error().code != Errc::not_found) co_return error_page(503, "The hub could not look the invitation up; try again.", *c);
      co_return error_page(404, "Share not found or expired", *c);
    }
    if (found->owner_id == c->user.id) co_return error_page(403, "You can't share with yourself!", *c);
    if (found->max_exchanges && found->exchange_count >= *found->max_exchanges)
      co_return error_page(403, "This invitation has been used as many times as it may be.", *c);
    auto next = next_or_server(ctx.query_param("next").value_or(""), *found);
    auto server_url = d.servers.prefix_for(found->owner_name, found->server_name);
    bool const ready = d.servers.view(found->owner_name, found->server_name).state == hub::ServerState::ready;
    std::string lines;
    for (auto const& l : hub::describe_share_scopes(found->scopes))
      lines += fmt::format("<li>{}{}</li>", escape(l.description),
                           l.applies_to.empty() ? std::string{} : fmt::format(" Applies to <code>{}</code>.", escape(l.applies_to)));
    std::string server_label = found->server_name.empty() ? std::string{} : fmt::format(" ({})", escape(found->server_name));
    auto body = fmt::format(
        R"(<section class="card narrow" id="accept-share"><h1>Accept sharing invitation</h1>)"
        R"(<p>You ({}) have been invited to access {}'s server{} at <a href="{}">{}</a>.</p>)"
        "{}"
        R"(<form method="post" action="{}"><input type="hidden" name="_xsrf" value="{}"><input type="hidden" name="code" value="{}"><input type="hidden" name="next" value="{}">)"
        R"(<p>By accepting the invitation, you will be granted the following permissions, restricted to this particular server:</p><ul>{}</ul>)"
        R"(<button class="button primary" type="submit">Accept invitation</button></form>)"
        R"(<p class="muted small">After accepting the invitation, you will be redirected to <a href="{}">{}</a>.</p></section>)",
        escape(c->user.name), escape(found->owner_name), server_label, escape(server_url), escape(server_url),
        ready ? std::string{}
              : fmt::format(R"(<p class="notice" role="status">The server at {} is not currently running. After accepting, you may need to ask {} to start it before you can use it.</p>)",
                            escape(server_url), escape(found->owner_name)),
        escape(hub("accept-share")), escape(d.auth.xsrf_for(c->session_hash)), escape(code), escape(next), lines,
        escape(next), escape(next));
    co_return page(200, "Accept sharing invitation", body, *c);
  }

  // POST /hub/accept-share (code, next, _xsrf)
  net::awaitable<Response> accept(Context& ctx) const {
    Response go;
    auto c = co_await signed_in(ctx, go);
    if (!c) co_return go;
    auto form = parse_form(ctx.req.body());
    auto field = [&](char const* k) { auto it = form.find(k); return it == form.end() ? std::string{} : it->second; };
    if (!d.auth.xsrf_ok(ctx, *c, field("_xsrf")))
      co_return error_page(403, "This form expired or did not come from this hub. Go back, reload and try again.", *c);
    auto code = field("code");
    if (code.empty()) code = ctx.query_param("code").value_or("");
    auto hash = hub::token_hash(code);
    auto work2 = [this, hash]() { return d.store.find_share_code(hash); };
    auto found = co_await blocking(std::move(work2));
    if (!found) {
      if (found.error().code != Errc::not_found) co_return error_page(503, "The hub could not look the invitation up; try again.", *c);
      co_return error_page(400, "Invalid share code: it is unknown or has expired.", *c);
    }
    if (found->owner_id == c->user.id) co_return error_page(400, "You can't share with yourself!", *c);
    auto now = d.clock ? d.clock->now() : std::chrono::system_clock::now();
    auto work3 = [this, hash, id = c->user.id, now, owner = found->owner_name, server = found->server_name]() {
      auto s = d.store.exchange_share_code(hash, id, now);
      if (s && d.share_access) d.share_access->after_grant(owner, server, {id});
      return s;
    };
    auto share = co_await blocking(std::move(work3));
    if (!share) {
      if (share.error().code == Errc::not_found) co_return error_page(400, "Invalid share code: it is unknown or has expired.", *c);
      if (share.error().code == Errc::forbidden) co_return error_page(403, "This invitation has been used as many times as it may be.", *c);
      d.log.warn("accepting share code {}... for {}: {}", found->prefix, c->user.name, share.error().message);
      co_return error_page(503, "The hub could not accept the invitation; try again.", *c);
    }
    d.log.info("{} accepted share code {}... for {}/{}", c->user.name, found->prefix, found->owner_name, found->server_name);
    co_return http::redirect_response(next_or_server(field("next"), *found), 302);
  }

  // --- the home page's section ----------------------------------------------------------------
  struct HomeData {
    std::vector<store::ShareRow> mine;          // shares of my default server
    std::vector<store::ShareCodeRow> codes;     // my unexpired codes
    std::vector<store::ShareRow> with_me;       // shared with me or my groups
  };

  net::awaitable<std::string> home_section(Caller c, std::string xsrf, std::string new_code) const {
    bool const can_share = may_share(c);
    auto work4 = [this, id = c.user.id, can_share]() -> Result<HomeData> {
      HomeData out;
      if (can_share) {
        auto mine = d.store.list_shares({.owner_id = id, .server_name = std::string{}}, 0, 200);
        if (!mine) return mine.error();
        out.mine = std::move(mine->first);
        auto codes = d.store.list_share_codes(id, std::string_view{}, 0, 200);
        if (!codes) return codes.error();
        out.codes = std::move(codes->first);
      }
      auto with_me = d.store.list_shares({.shared_with_user = id}, 0, 200);
      if (!with_me) return with_me.error();
      out.with_me = std::move(with_me->first);
      return out;
    };
    auto data = co_await blocking(std::move(work4));
    if (!data) {
      d.log.warn("home page sharing section for {}: {}", c.user.name, data.error().message);
      co_return std::string{};
    }
    std::string out;
    auto hidden = fmt::format(R"(<input type="hidden" name="_xsrf" value="{}">)", escape(xsrf));
    if (can_share) {
      out += R"(<section class="card" id="sharing"><h2>Share your server</h2>)";
      if (!new_code.empty()) {
        auto url = hub("accept-share") + "?code=" + url_encode(new_code);
        out += fmt::format(
            R"(<p class="notice" role="status">Send this link to the people you want to invite. It is shown only now.</p>)"
            R"(<p><input class="token" id="share-link" type="text" readonly value="{}" aria-label="Invitation link"></p>)",
            escape(url));
      }
      // Sharing by name needs the right to read names (JupyterHub 5): without it, only links.
      // Everyone may read their own name (`self`), which names nobody to share with.
      auto const own_name = "read:users:name!user=" + c.user.name;
      bool const by_user = std::ranges::any_of(c.scope_set, [&](std::string const& s) {
        return s.starts_with("read:users:name") && s != own_name;
      });
      bool const by_group = hub::has_any_scope(c.scope_set, "read:groups:name");
      if (by_user || by_group) {
        std::string kinds;
        if (by_user) kinds += R"(<option value="user" selected>user</option>)";
        if (by_group) kinds += R"(<option value="group">group</option>)";
        out += fmt::format(
            R"(<form class="inline" method="post" action="{}">{}<label for="share-kind">Share with</label>)"
            R"(<select id="share-kind" name="kind" aria-label="User or group">{}</select>)"
            R"(<input id="share-with" name="name" type="text" required autocomplete="off" aria-label="Name to share with">)"
            R"(<button class="button" type="submit">Share</button></form>)",
            escape(hub("home/share")), hidden, kinds);
      }
      std::string options;
      for (auto const& [secs, label] : kCodeLifetimes)
        options += fmt::format(R"(<option value="{}"{}>{}</option>)", secs, secs == 86400 ? " selected" : "", label);
      out += fmt::format(
          R"(<form class="inline" method="post" action="{}">{}<label for="share-expires">Invitation valid for</label>)"
          R"(<select id="share-expires" name="expires_in">{}</select><button class="button" type="submit">Create invitation link</button></form>)",
          escape(hub("home/share-code")), hidden, options);
      if (!data->codes.empty()) {
        std::string rows;
        for (auto const& code : data->codes)
          rows += fmt::format(
              R"(<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class="actions"><form method="post" action="{}">{}<input type="hidden" name="id" value="{}"><button class="button small" type="submit" aria-label="Revoke invitation {}">Revoke</button></form></td></tr>)",
              escape(hub::share_code_id(code.id)), escape(iso8601(code.expires)), code.exchange_count,
              escape(hub("home/share-code/revoke")), hidden, escape(hub::share_code_id(code.id)), escape(hub::share_code_id(code.id)));
        out += R"(<h3>Invitations</h3><div class="table-wrap"><table><thead><tr><th scope="col">Invitation</th><th scope="col">Expires</th><th scope="col">Accepted</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody>)" +
               rows + "</tbody></table></div>";
      }
      if (data->mine.empty()) {
        out += R"(<p class="muted">Nobody has access to your server through sharing.</p>)";
      } else {
        std::string rows;
        for (auto const& s : data->mine) {
          bool const group = s.group_name.has_value();
          auto const& who = group ? *s.group_name : s.user_name.value_or("");
          rows += fmt::format(
              R"(<tr><td>{}{}</td><td class="scopes">{}</td><td class="actions"><form method="post" action="{}">{}<input type="hidden" name="{}" value="{}"><button class="button small" type="submit" aria-label="Revoke access of {}">Revoke</button></form></td></tr>)",
              group ? "group " : "", escape(who), escape(fmt::format("{}", fmt::join(s.scopes, " "))), escape(hub("home/share/revoke")),
              hidden, group ? "group" : "user", escape(who), escape(who));
        }
        out += R"(<h3>Who has access</h3><div class="table-wrap"><table><thead><tr><th scope="col">Shared with</th><th scope="col">Scopes</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody>)" +
               rows + "</tbody></table></div>";
      }
      out += "</section>";
    }
    if (!data->with_me.empty()) {
      std::string rows;
      for (auto const& s : data->with_me) {
        auto url = d.servers.prefix_for(s.owner_name, s.server_name);
        auto label = s.server_name.empty() ? s.owner_name : s.owner_name + "/" + s.server_name;
        // A share to one of my groups can only be left by someone managing the group's shares.
        std::string leave = s.user_id ? fmt::format(
            R"(<form method="post" action="{}">{}<input type="hidden" name="owner" value="{}"><input type="hidden" name="server" value="{}"><button class="button small" type="submit" aria-label="Leave {}">Leave</button></form>)",
            escape(hub("home/shared/leave")), hidden, escape(s.owner_name), escape(s.server_name), escape(label)) : std::string{};
        rows += fmt::format(R"(<tr><td><a href="{}">{}</a></td><td>{}</td><td class="actions">{}</td></tr>)", escape(url), escape(label),
                            s.group_name ? "group " + escape(*s.group_name) : std::string("you"), leave);
      }
      out += R"(<section class="card" id="shared-with-me"><h2>Servers shared with you</h2><div class="table-wrap"><table><thead><tr><th scope="col">Server</th><th scope="col">Through</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody>)" +
             rows + "</tbody></table></div></section>";
    }
    co_return out;
  }

  // The forms below post back to the home page; each checks the xsrf token and the scope the
  // REST API would need for the same change.
  net::awaitable<std::optional<Caller>> form_caller(Context& ctx, Response& out, std::multimap<std::string, std::string>& form) const {
    auto c = co_await signed_in(ctx, out);
    if (!c) co_return c;
    form = parse_form(ctx.req.body());
    auto it = form.find("_xsrf");
    if (!d.auth.xsrf_ok(ctx, *c, it == form.end() ? "" : it->second)) {
      out = error_page(403, "This form expired or did not come from this hub. Go back, reload and try again.", *c, "Not allowed");
      co_return std::nullopt;
    }
    co_return c;
  }
  static std::string field(std::multimap<std::string, std::string> const& f, char const* k) {
    auto it = f.find(k);
    return it == f.end() ? std::string{} : it->second;
  }
  bool may_share(Caller const& c) const {
    return hub::has_scope(c.scope_set, "shares", {.user = c.user.name, .user_groups = c.user.groups, .server = ""});
  }

  // POST /hub/home/share-code: a code for my default server; the home page shows its link once.
  net::awaitable<Response> create_code(Context& ctx) const {
    Response out;
    std::multimap<std::string, std::string> form;
    auto c = co_await form_caller(ctx, out, form);
    if (!c) co_return out;
    if (!may_share(*c)) co_return error_page(403, "You may not share your server on this hub.", *c, "Cannot share");
    if (!d.random || !d.clock) co_return error_page(503, "Invitations are not available on this hub.", *c, "Cannot share");
    std::int64_t secs = 86400;
    for (auto const& [s, _] : kCodeLifetimes)
      if (field(form, "expires_in") == std::to_string(s)) secs = s;
    auto code = d.random->token(32);
    if (!code) co_return error_page(500, "The system random generator failed.", *c, "Cannot share");
    auto now = d.clock->now();
    store::ShareCodeRow row{.owner_id = c->user.id, .code_hash = hub::token_hash(*code), .prefix = code->substr(0, 4),
                            .scopes = hub::default_share_scopes(c->user.name, ""), .created = now,
                            .expires = now + std::chrono::seconds(secs)};
    auto work5 = [this, row]() { return d.store.create_share_code(row); };
    auto made = co_await blocking(std::move(work5));
    if (!made) {
      d.log.warn("share code for {}: {}", c->user.name, made.error().message);
      co_return error_page(503, "The hub could not make the invitation; try again.", *c, "Cannot share");
    }
    d.log.info("share code {}... for {}/ from the home page", made->prefix, c->user.name);
    auto body = fmt::format(R"(<section class="card"><h1>Invitation created</h1><p><a class="button" href="{}">Back to the home page</a></p></section>)",
                            escape(hub("home")));
    auto section = co_await home_section(*c, d.auth.xsrf_for(c->session_hash), *code);
    body = section + body;
    co_return page(200, "Invitation created", body, *c);
  }

  // POST /hub/home/share (kind = user | group, name): shares my default server with the
  // default scopes, with the same checks as POST /hub/api/shares/{me}/.
  net::awaitable<Response> share_by_name(Context& ctx) const {
    Response out;
    std::multimap<std::string, std::string> form;
    auto c = co_await form_caller(ctx, out, form);
    if (!c) co_return out;
    if (!may_share(*c)) co_return error_page(403, "You may not share your server on this hub.", *c, "Cannot share");
    bool const group = field(form, "kind") == "group";
    auto name = field(form, "name");
    // Names pasted from elsewhere often carry spaces around them; names never do.
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    if (name.empty()) co_return error_page(400, "Name the user or group to share your server with.", *c, "Cannot share");
    if (!group && name == c->user.name) co_return error_page(400, "You can't share with yourself!", *c, "Cannot share");
    auto work = [this, group, name, uid = c->user.id, me = c->user.name, scopes = c->scope_set,
                 now = d.clock ? d.clock->now() : std::chrono::system_clock::now()]() -> Result<store::ShareRow> {
      store::ShareTarget t;
      if (group) {
        if (!hub::has_scope(scopes, "read:groups:name", {.group = name}))
          return Error{Errc::forbidden, "You may not share with groups by name on this hub; create an invitation link instead."};
        auto g = d.store.get_group(name);
        if (!g) return g.error().code == Errc::not_found ? Error{Errc::bad_request, fmt::format("No such group: {}", name)} : g.error();
        t = {store::ShareTarget::Kind::group, g->id};
      } else {
        auto u = d.store.get_user(name);
        if (!u && u.error().code != Errc::not_found) return u.error();
        std::vector<std::string> groups;
        if (u) groups = u->groups;
        // Asked before the lookup's answer shows, so the form tells nobody who exists.
        if (!hub::has_scope(scopes, "read:users:name", {.user = name, .user_groups = groups}))
          return Error{Errc::forbidden, "You may not share with users by name on this hub; create an invitation link instead."};
        if (!u) return Error{Errc::bad_request, fmt::format("No such user: {}", name)};
        t = {store::ShareTarget::Kind::user, u->id};
      }
      auto share = d.store.grant_share(uid, "", t, hub::default_share_scopes(me, ""), now);
      if (share && d.share_access) d.share_access->after_grant(me, "", d.share_access->users_of(t));
      return share;
    };
    auto share = co_await blocking(std::move(work));
    if (!share) {
      auto const code = share.error().code;
      if (code == Errc::bad_request || code == Errc::forbidden) co_return error_page(code == Errc::forbidden ? 403 : 400, share.error().message, *c, "Cannot share");
      d.log.warn("sharing {}/ with {}: {}", c->user.name, name, share.error().message);
      co_return error_page(503, "The hub could not share your server; try again.", *c, "Cannot share");
    }
    d.log.info("{} shared {}/ with {} {} from the home page", c->user.name, c->user.name, group ? "group" : "user", name);
    co_return http::redirect_response(hub("home"), 303);
  }

  // POST /hub/home/share-code/revoke (id)
  net::awaitable<Response> revoke_code(Context& ctx) const {
    Response out;
    std::multimap<std::string, std::string> form;
    auto c = co_await form_caller(ctx, out, form);
    if (!c) co_return out;
    if (!may_share(*c)) co_return error_page(403, "You may not share your server on this hub.", *c, "Cannot share");
    auto id = hub::parse_share_code_id(field(form, "id"));
    auto work6 = [this, uid = c->user.id, id]() { return d.store.delete_share_codes(uid, "", id, std::nullopt); };
    if (id) (void)co_await blocking(std::move(work6));
    co_return http::redirect_response(hub("home"), 303);
  }

  // POST /hub/home/share/revoke (user or group)
  net::awaitable<Response> revoke_share(Context& ctx) const {
    Response out;
    std::multimap<std::string, std::string> form;
    auto c = co_await form_caller(ctx, out, form);
    if (!c) co_return out;
    if (!may_share(*c)) co_return error_page(403, "You may not share your server on this hub.", *c, "Cannot share");
    auto user = field(form, "user"), group = field(form, "group");
    auto work7 = [this, uid = c->user.id, me = c->user.name, user, group]() -> Result<std::optional<store::ShareRow>> {
      store::ShareTarget t;
      if (!user.empty()) {
        auto u = d.store.get_user(user);
        if (!u) return u.error();
        t = {store::ShareTarget::Kind::user, u->id};
      } else {
        auto g = d.store.get_group(group);
        if (!g) return g.error();
        t = {store::ShareTarget::Kind::group, g->id};
      }
      auto users = d.share_access ? d.share_access->users_of(t) : std::vector<std::int64_t>{};
      auto left = d.store.revoke_share(uid, "", t, std::nullopt);
      if (left && d.share_access) d.share_access->after_revoke(me, "", users);
      return left;
    };
    auto r = co_await blocking(std::move(work7));
    if (!r && r.error().code != Errc::not_found) d.log.warn("revoking a share of {}/: {}", c->user.name, r.error().message);
    else d.log.info("{} revoked the access of {} to {}/", c->user.name, user.empty() ? "group " + group : user, c->user.name);
    co_return http::redirect_response(hub("home"), 303);
  }

  // POST /hub/home/shared/leave (owner, server): users:shares on myself, as the REST API's
  // DELETE /users/{me}/shared/{owner}/{server}.
  net::awaitable<Response> leave(Context& ctx) const {
    Response out;
    std::multimap<std::string, std::string> form;
    auto c = co_await form_caller(ctx, out, form);
    if (!c) co_return out;
    if (!hub::has_scope(c->scope_set, "users:shares", {.user = c->user.name, .user_groups = c->user.groups}))
      co_return error_page(403, "You may not change your shared servers on this hub.", *c, "Not allowed");
    auto owner = field(form, "owner"), server = field(form, "server");
    auto work8 = [this, uid = c->user.id, owner, server]() -> Result<std::optional<store::ShareRow>> {
      auto o = d.store.get_user(owner);
      if (!o) return o.error();
      auto left = d.store.revoke_share(o->id, server, {store::ShareTarget::Kind::user, uid}, std::nullopt);
      if (left && d.share_access) d.share_access->after_revoke(owner, server, {uid});
      return left;
    };
    auto r = co_await blocking(std::move(work8));
    if (!r && r.error().code != Errc::not_found) d.log.warn("{} leaving {}/{}: {}", c->user.name, owner, server, r.error().message);
    co_return http::redirect_response(hub("home"), 303);
  }
};

template <auto Method>
http::Handler bind(std::shared_ptr<SharePages const> p) {
  return [p](Context& ctx) -> net::awaitable<Response> { co_return co_await ((*p).*Method)(ctx); };
}

}  // namespace

net::awaitable<std::string> share_home_section(ServerRouteDeps const& deps, Caller c, std::string xsrf) {
  SharePages p{deps, url_prefix(deps.cfg.load()->base_url)};
  co_return co_await p.home_section(c, xsrf, "");
}

void add_share_pages(http::Router& router, ServerRouteDeps const& deps) {
  auto p = std::make_shared<SharePages const>(SharePages{deps, url_prefix(deps.cfg.load()->base_url)});
  auto h = route_prefix(deps.cfg.load()->base_url) + "hub/";
  router.get(h + "accept-share", bind<&SharePages::accept_page>(p));
  router.get(h + "accept-share/", bind<&SharePages::accept_page>(p));
  router.post(h + "accept-share", bind<&SharePages::accept>(p));
  router.post(h + "accept-share/", bind<&SharePages::accept>(p));
  router.post(h + "home/share", bind<&SharePages::share_by_name>(p));
  router.post(h + "home/share-code", bind<&SharePages::create_code>(p));
  router.post(h + "home/share-code/revoke", bind<&SharePages::revoke_code>(p));
  router.post(h + "home/share/revoke", bind<&SharePages::revoke_share>(p));
  router.post(h + "home/shared/leave", bind<&SharePages::leave>(p));
}

}  // namespace nbhub::web
