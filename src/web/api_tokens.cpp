// /hub/api/users/{name}/tokens (spec/jupyterhub-contract.md §4.2): list, create with
// expires_in/note/scopes (or deprecated roles), read one, revoke.
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>

#include "config/config.hpp"
#include "hub/roles.hpp"
#include "hub/services.hpp"
#include "hub/tokens.hpp"
#include "store/store.hpp"
#include "web/api_bodies.hpp"
#include "web/api_common.hpp"

namespace nbhub::web {

namespace net = boost::asio;
namespace json = boost::json;
using http::Context;
using http::Response;

namespace {

std::optional<std::int64_t> parse_token_id(std::string_view id) {
  // "a42" (API tokens); 2.x's "o42" OAuth ids name the same table here.
  if (id.size() < 2 || (id[0] != 'a' && id[0] != 'o')) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(id.data() + 1, id.data() + id.size(), v);
  if (ec != std::errc() || p != id.data() + id.size()) return std::nullopt;
  return v;
}

struct TokensApi {
  std::shared_ptr<Api const> a;

  net::awaitable<Result<store::UserRow>> load(std::string name) const {
    auto work = [this, name]() { return a->d.store.get_user(name); };
    auto u = co_await a->blocking(std::move(work));
    if (!u && u.error().code == Errc::not_found) co_return Error{Errc::not_found, fmt::format("No such user: {}", name)};
    co_return u;
  }

  static hub::ScopeTarget target(std::string const& name, Result<store::UserRow> const& u) {
    hub::ScopeTarget t{.user = name};
    if (u) t.user_groups = u->groups;
    return t;
  }

  // GET /users/{name}/tokens
  net::awaitable<Response> list(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto u = co_await load(ctx.params[0]);
    if (auto deny = a->need(c, {"read:tokens"}, target(ctx.params[0], u))) co_return std::move(*deny);
    if (!u) co_return a->error_from(u.error());
    auto work = [this, user = *u]() -> Result<json::array> {
      auto tokens = a->d.store.list_tokens(user.id);
      if (!tokens) return tokens.error();
      json::array out;
      for (auto const& t : *tokens)
        if (t.kind != "session") out.push_back(a->token_model(t, user.name));
      return out;
    };
    auto tokens = co_await a->blocking(std::move(work));
    if (!tokens) co_return a->error_from(tokens.error());
    co_return a->json(200, json::object{{"api_tokens", std::move(*tokens)}});
  }

  // POST /users/{name}/tokens
  net::awaitable<Response> create(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto u = co_await load(ctx.params[0]);
    if (auto deny = a->need(c, {"tokens"}, target(ctx.params[0], u))) co_return std::move(*deny);
    if (!u) co_return a->error_from(u.error());
    auto b = a->body(ctx);
    if (auto* r = std::get_if<Response>(&b)) co_return std::move(*r);
    auto req = parse_token_request(std::get<json::value>(b));
    if (!req) co_return a->error(400, req.error().message);
    store::TokenRow spec{.user_id = u->id, .kind = "api"};
    // JupyterHub 5.0's token_expires_in_max_seconds, with its message; no expiry asked is the
    // longest allowed ("never" is not allowed then).
    auto const max_expiry = a->d.cfg.load()->token_expires_in_max;
    if (req->expires_in_seconds) {
      auto const secs = *req->expires_in_seconds;
      if (max_expiry.count() > 0 && secs > max_expiry.count())
        co_return a->error(400, fmt::format("token expires_in: {} must not exceed {}", secs, max_expiry.count()));
      spec.expires_at = std::chrono::system_clock::now() + std::chrono::seconds(secs);
    } else if (max_expiry.count() > 0) {
      spec.expires_at = std::chrono::system_clock::now() + max_expiry;
    }
    spec.note = std::move(req->note);
    auto scopes = std::move(req->scopes);
    bool const asked = req->asked;
    if (!req->roles.empty()) {
      auto const roles = a->d.auth.roles();
      for (auto const& name : req->roles) {
        auto const* role = roles->find(std::string_view(name));
        if (!role) co_return a->error(400, fmt::format("Role {} does not exist", name));
        scopes.insert(scopes.end(), role->scopes.begin(), role->scopes.end());
      }
    }
    // Asked for nothing: the `token` role (everything the owner has). Asked for scopes: stored
    // as asked and cut down to what the owner holds each time the token is used (§3.6).
    spec.scopes = asked && scopes.empty() ? std::vector<std::string>{"identify"} : scopes;
    if (spec.note.empty()) {
      std::string by = c.service ? "service " + c.service->name : c.user.name != u->name ? "user " + c.user.name : "";
      spec.note = by.empty() ? "Requested via api" : "Requested via api by " + by;
    }
    auto issued = co_await a->d.tokens.issue_async(std::move(spec));
    if (!issued) co_return a->error_from(issued.error());
    auto work = [this, row = issued->row, name = u->name]() { return a->token_model(row, name); };
    auto model = co_await a->blocking(std::move(work));
    model["token"] = issued->raw;
    a->d.log.info("token a{} created for {} through the API", issued->row.id, u->name);
    co_return a->json(201, model);
  }

  net::awaitable<std::variant<std::pair<store::UserRow, store::TokenRow>, Response>> find(Context& ctx, Caller const& c,
                                                                                         std::string_view scope) const {
    auto u = co_await load(ctx.params[0]);
    if (auto deny = a->need(c, {scope}, target(ctx.params[0], u))) co_return std::move(*deny);
    if (!u) co_return a->error_from(u.error());
    auto id = parse_token_id(ctx.params[1]);
    if (!id) co_return a->error(404, fmt::format("No such token: {}", ctx.params[1]));
    auto work = [this, uid = u->id]() { return a->d.store.list_tokens(uid); };
    auto tokens = co_await a->blocking(std::move(work));
    if (!tokens) co_return a->error_from(tokens.error());
    for (auto const& t : *tokens)
      if (t.id == *id) co_return std::pair{*u, t};
    co_return a->error(404, fmt::format("No such token: {}", ctx.params[1]));
  }

  // GET /users/{name}/tokens/{id}
  net::awaitable<Response> get(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto found = co_await find(ctx, std::get<Caller>(cr), "read:tokens");
    if (auto* r = std::get_if<Response>(&found)) co_return std::move(*r);
    auto [user, token] = std::get<0>(found);
    auto work = [this, token, name = user.name]() { return a->token_model(token, name); };
    auto model = co_await a->blocking(std::move(work));
    co_return a->json(200, model);
  }

  // DELETE /users/{name}/tokens/{id}: an OAuth token takes every token of its client for
  // this user with it (JupyterHub revokes the whole client authorization).
  net::awaitable<Response> remove(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto found = co_await find(ctx, std::get<Caller>(cr), "tokens");
    if (auto* r = std::get_if<Response>(&found)) co_return std::move(*r);
    auto [user, token] = std::get<0>(found);
    auto work = [this, user, token]() -> Result<void> {
      if (token.kind == "oauth" && token.oauth_client_id) {
        auto all = a->d.store.list_tokens(user.id);
        if (!all) return all.error();
        for (auto const& t : *all)
          if (t.oauth_client_id == token.oauth_client_id)
            if (auto r = a->d.store.delete_token(t.id); !r) return r.error();
        return {};
      }
      auto r = a->d.store.delete_token(token.id);
      if (!r) return r.error();
      return {};
    };
    auto r = co_await a->blocking(std::move(work));
    if (!r) co_return a->error_from(r.error());
    a->d.log.info("token a{} of {} revoked through the API", token.id, user.name);
    co_return a->empty(204);
  }
};

}  // namespace

void add_token_api(http::Router& router, std::shared_ptr<Api const> api) {
  auto r = std::make_shared<TokensApi const>(TokensApi{api});
  auto const& p = api->route;
  router.get(p + "users/{name}/tokens", bind_api<TokensApi, &TokensApi::list>(r));
  router.post(p + "users/{name}/tokens", bind_api<TokensApi, &TokensApi::create>(r));
  router.get(p + "users/{name}/tokens/{id}", bind_api<TokensApi, &TokensApi::get>(r));
  router.add(http::bhttp::verb::delete_, p + "users/{name}/tokens/{id}", bind_api<TokensApi, &TokensApi::remove>(r));
}

}  // namespace nbhub::web
