#include "hub/share_access.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>

#include "hub/servers.hpp"
#include "hub/shares.hpp"
#include "proxy/access_gate.hpp"
#include "proxy/route_table.hpp"
#include "store/store.hpp"

namespace nbhub::hub {

ShareAccess::ShareAccess(store::Store& store, proxy::AccessGate& gate, Clock const& clock, RoleScopes role_scopes,
                         std::function<std::string(std::string const&, std::string const&)> prefix_for,
                         std::chrono::seconds deny_for, spdlog::logger& log)
    : store_(store), gate_(gate), clock_(clock), role_scopes_(std::move(role_scopes)), prefix_for_(std::move(prefix_for)),
      deny_for_(deny_for), log_(log) {}

std::vector<std::int64_t> ShareAccess::users_of(store::ShareTarget target) {
  if (target.kind == store::ShareTarget::Kind::user) return {target.id};
  std::vector<std::int64_t> out;
  // Groups are looked up by name; a few hundred members at most in practice.
  auto groups = store_.list_groups(0, INT32_MAX);
  if (!groups) return out;
  for (auto const& g : *groups) {
    if (g.id != target.id) continue;
    for (auto const& m : g.members)
      if (auto u = store_.get_user(m)) out.push_back(u->id);
  }
  return out;
}

std::vector<std::int64_t> ShareAccess::reached(std::int64_t owner_id, std::string const& server) {
  std::vector<std::int64_t> out;
  auto shares = store_.list_shares({.owner_id = owner_id, .server_name = server}, 0, INT32_MAX);
  if (!shares) return out;
  for (auto const& s : shares->first) {
    auto ids = s.user_id ? std::vector<std::int64_t>{*s.user_id}
                         : users_of({store::ShareTarget::Kind::group, s.group_id.value_or(0)});
    out.insert(out.end(), ids.begin(), ids.end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void ShareAccess::after_revoke(std::string const& owner, std::string const& server,
                               std::vector<std::int64_t> const& users) {
  auto const route = proxy::route_key_for_url_path(prefix_for_(owner, server));
  auto const client = ServerManager::client_id_for(owner, server);
  for (auto id : users) {
    auto u = store_.get_user_by_id(id);
    if (!u) continue;
    auto scopes = with_shared_scopes(role_scopes_(*u), *u, store_);
    if (has_scope(scopes, "access:servers", {.user = owner, .server = server})) continue;  // still allowed another way
    auto tokens = store_.list_tokens(id);
    if (!tokens) {
      log_.warn("revoking {}'s access to {}: {}", u->name, route, tokens.error().message);
      continue;
    }
    std::vector<std::string> hashes;
    for (auto const& t : *tokens) {
      hashes.push_back(t.hash);
      // The OAuth tokens the server's client issued: useless now, and the server checks with
      // the hub again once its cache ends.
      if (t.oauth_client_id == client) (void)store_.delete_token(t.id);  // best effort: the gate holds meanwhile
    }
    gate_.deny(route, client, id, hashes, clock_.now() + deny_for_);
    log_.info("{} lost access to {}: {} tokens refused at the proxy for {} s", u->name, route, hashes.size(),
              deny_for_.count());
  }
}

void ShareAccess::after_grant(std::string const& owner, std::string const& server,
                              std::vector<std::int64_t> const& users) {
  auto const route = proxy::route_key_for_url_path(prefix_for_(owner, server));
  for (auto id : users) gate_.allow(route, id);
}

}  // namespace nbhub::hub
