// /hub/api/groups (spec/jupyterhub-contract.md §4.2): list, bulk create, read, create,
// delete, add/remove members, replace properties.
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "store/store.hpp"
#include "web/api_bodies.hpp"
#include "web/api_common.hpp"

namespace nbhub::web {

namespace net = boost::asio;
namespace json = boost::json;
using http::Context;
using http::Response;

namespace {

struct GroupsApi {
  std::shared_ptr<Api const> a;

  // GET /groups
  net::awaitable<Response> list(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    if (auto deny = a->need_any_form(c, "list:groups")) co_return std::move(*deny);
    auto pg = a->page(ctx);
    if (auto* r = std::get_if<Response>(&pg)) co_return std::move(*r);
    auto p = std::get<Api::Page>(pg);
    auto work = [this]() { return a->d.store.list_groups(0, INT32_MAX); };
    auto all = co_await a->blocking(std::move(work));
    if (!all) co_return a->error_from(all.error());
    std::vector<store::GroupRow const*> picked;
    for (auto const& g : *all)
      if (hub::has_scope(c.scope_set, "list:groups", hub::ScopeTarget{.group = g.name})) picked.push_back(&g);
    auto total = static_cast<std::int64_t>(picked.size());
    json::array items;
    for (auto i = p.offset; i < total && i < p.offset + p.limit; ++i)
      items.push_back(a->group_model(*picked[static_cast<std::size_t>(i)], c));
    co_return a->json(200, a->paged(ctx, p, std::move(items), total));
  }

  net::awaitable<Result<store::GroupRow>> load(std::string name) const {
    auto work = [this, name]() { return a->d.store.get_group(name); };
    auto g = co_await a->blocking(std::move(work));
    if (!g && g.error().code == Errc::not_found) co_return Error{Errc::not_found, fmt::format("No such group: {}", name)};
    co_return g;
  }

  // Creates the groups with their members in the pool; conflict names the existing group and
  // not_found the unknown user (JupyterHub answers 400 for that one).
  Result<std::vector<store::GroupRow>> create_groups(std::vector<std::string> const& names,
                                                     std::vector<std::string> const& users) const {
    for (auto const& n : names) {
      auto g = a->d.store.get_group(n);
      if (g) return Error{Errc::conflict, fmt::format("Group {} already exists", n)};
    }
    for (auto const& u : users) {
      auto e = a->d.store.user_exists(u);
      if (!e) return e.error();
      if (!*e) return Error{Errc::bad_request, fmt::format("No such user: {}", u)};
    }
    std::vector<store::GroupRow> out;
    for (auto const& n : names) {
      auto g = a->d.store.add_group(n, json::object{});
      if (!g) return g.error();
      if (!users.empty())
        if (auto r = a->d.store.set_group_members(n, users); !r) return r.error();
      auto full = a->d.store.get_group(n);
      if (!full) return full.error();
      out.push_back(std::move(*full));
    }
    return out;
  }

  // POST /groups {"groups": [...], "users": [...]}
  net::awaitable<Response> create_many(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    if (auto deny = a->need(c, {"admin:groups"})) co_return std::move(*deny);
    auto b = a->body(ctx);
    if (auto* r = std::get_if<Response>(&b)) co_return std::move(*r);
    auto req = parse_create_groups(std::get<json::value>(b));
    if (!req) co_return a->error(400, req.error().message);
    auto names = std::move(req->names);
    auto users = std::optional(std::move(req->users));
    auto work = [this, names, u = *users]() { return create_groups(names, u); };
    auto created = co_await a->blocking(std::move(work));
    if (!created) co_return a->error_from(created.error());
    json::array out;
    for (auto const& g : *created) out.push_back(a->group_model(g, c));
    co_return a->json(201, out);
  }

  // GET /groups/{name}
  net::awaitable<Response> get(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto name = ctx.params[0];
    if (auto deny = a->need(c, {"read:groups", "read:groups:name", "read:roles:groups"}, hub::ScopeTarget{.group = name}))
      co_return std::move(*deny);
    auto g = co_await load(name);
    if (!g) co_return a->error_from(g.error());
    co_return a->json(200, a->group_model(*g, c));
  }

  // POST /groups/{name} {"users": [...]?}
  net::awaitable<Response> create(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto name = ctx.params[0];
    if (auto deny = a->need(c, {"admin:groups"}, hub::ScopeTarget{.group = name})) co_return std::move(*deny);
    if (auto p = group_name_problem(name)) co_return a->error(400, *p);
    auto b = a->body(ctx);
    if (auto* r = std::get_if<Response>(&b)) co_return std::move(*r);
    auto users = parse_group_users(std::get<json::value>(b), false);
    if (!users) co_return a->error(400, users.error().message);
    auto work = [this, names = std::vector<std::string>{name}, u = *users]() { return create_groups(names, u); };
    auto created = co_await a->blocking(std::move(work));
    if (!created) co_return a->error_from(created.error());
    co_return a->json(201, a->group_model(created->front(), c));
  }

  // DELETE /groups/{name}
  net::awaitable<Response> remove(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto name = ctx.params[0];
    if (auto deny = a->need(c, {"delete:groups"}, hub::ScopeTarget{.group = name})) co_return std::move(*deny);
    auto work = [this, name]() -> Result<void> {
      if (auto g = a->d.store.get_group(name); !g) return Error{g.error().code, fmt::format("No such group: {}", name)};
      return a->d.store.delete_group(name);
    };
    auto r = co_await a->blocking(std::move(work));
    if (!r) co_return a->error_from(r.error());
    a->d.log.info("group {} deleted through the API", name);
    co_return a->empty(204);
  }

  // POST / DELETE /groups/{name}/users {"users": [...]}
  net::awaitable<Response> members(Context& ctx, bool add) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto name = ctx.params[0];
    if (auto deny = a->need(c, {"groups"}, hub::ScopeTarget{.group = name})) co_return std::move(*deny);
    auto b = a->body(ctx);
    if (auto* r = std::get_if<Response>(&b)) co_return std::move(*r);
    auto users = parse_group_users(std::get<json::value>(b), true);
    if (!users) co_return a->error(400, users.error().message);
    auto work = [this, name, add, u = *users]() -> Result<store::GroupRow> {
      auto g = a->d.store.get_group(name);
      if (!g) return Error{g.error().code, fmt::format("No such group: {}", name)};
      auto members = g->members;
      for (auto const& n : u) {
        auto e = a->d.store.user_exists(n);
        if (!e) return e.error();
        if (!*e) return Error{Errc::bad_request, fmt::format("No such user: {}", n)};
        auto it = std::find(members.begin(), members.end(), n);
        if (add && it == members.end()) members.push_back(n);
        if (!add && it != members.end()) members.erase(it);
      }
      if (auto r = a->d.store.set_group_members(name, members); !r) return r.error();
      return a->d.store.get_group(name);
    };
    auto g = co_await a->blocking(std::move(work));
    if (!g) co_return a->error_from(g.error());
    co_return a->json(200, a->group_model(*g, c));
  }
  net::awaitable<Response> add_members(Context& ctx) const { co_return co_await members(ctx, true); }
  net::awaitable<Response> remove_members(Context& ctx) const { co_return co_await members(ctx, false); }

  // PUT /groups/{name}/properties
  net::awaitable<Response> properties(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto name = ctx.params[0];
    if (auto deny = a->need(c, {"groups"}, hub::ScopeTarget{.group = name})) co_return std::move(*deny);
    auto b = a->body(ctx);
    if (auto* r = std::get_if<Response>(&b)) co_return std::move(*r);
    auto& v = std::get<json::value>(b);
    if (!v.is_object()) co_return a->error(400, "The group properties must be a JSON object");
    auto work = [this, name, props = v.as_object()]() -> Result<store::GroupRow> {
      if (auto r = a->d.store.set_group_properties(name, props); !r) {
        if (r.error().code == Errc::not_found) return Error{Errc::not_found, fmt::format("No such group: {}", name)};
        return r.error();
      }
      return a->d.store.get_group(name);
    };
    auto g = co_await a->blocking(std::move(work));
    if (!g) co_return a->error_from(g.error());
    co_return a->json(200, a->group_model(*g, c));
  }
};

}  // namespace

void add_group_api(http::Router& router, std::shared_ptr<Api const> api) {
  auto r = std::make_shared<GroupsApi const>(GroupsApi{api});
  auto const& p = api->route;
  router.get(p + "groups", bind_api<GroupsApi, &GroupsApi::list>(r));
  router.post(p + "groups", bind_api<GroupsApi, &GroupsApi::create_many>(r));
  router.get(p + "groups/{name}", bind_api<GroupsApi, &GroupsApi::get>(r));
  router.post(p + "groups/{name}", bind_api<GroupsApi, &GroupsApi::create>(r));
  router.add(http::bhttp::verb::delete_, p + "groups/{name}", bind_api<GroupsApi, &GroupsApi::remove>(r));
  router.post(p + "groups/{name}/users", bind_api<GroupsApi, &GroupsApi::add_members>(r));
  router.add(http::bhttp::verb::delete_, p + "groups/{name}/users", bind_api<GroupsApi, &GroupsApi::remove_members>(r));
  router.add(http::bhttp::verb::put, p + "groups/{name}/properties", bind_api<GroupsApi, &GroupsApi::properties>(r));
}

}  // namespace nbhub::web
