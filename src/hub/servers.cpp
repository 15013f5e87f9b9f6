#include "hub/servers.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>

#include "core/html_escape.hpp"
#include "hub/blocking.hpp"
#include "hub/hub_metrics.hpp"
#include "hub/scopes.hpp"
#include "hub/tokens.hpp"
#include "proxy/route_table.hpp"
#include "spawn/spawn_queue.hpp"
#include "spawn/spawner.hpp"
#include "store/store.hpp"

namespace nbhub::hub {

namespace net = boost::asio;
namespace json = boost::json;

std::string_view to_string(ServerState s) {
  switch (s) {
    case ServerState::stopped: return "stopped";
    case ServerState::pending: return "pending";
    case ServerState::ready: return "ready";
    case ServerState::stopping: return "stopping";
  }
  return "stopped";
}

// One live server. Fields are guarded by ServerManager::mu_; `changed` wakes progress waiters.
struct ServerManager::Live {
  explicit Live(net::io_context& ioc) : changed(ioc) { changed.expires_at(net::steady_timer::time_point::max()); }
  std::string user;
  std::string server_name;
  std::int64_t user_id = 0;
  ServerState state = ServerState::stopped;
  std::string url;
  json::object spawner_state;
  std::string last_error;
  std::optional<Clock::SysTime> started;
  std::optional<Clock::SysTime> last_activity;
  json::array events;
  bool finished = false;
  json::object user_options;  // of the last start: pre-selects the spawn form (KubeSpawner 7.1)
  net::steady_timer changed;
  std::string display_name;
};

namespace {
std::string key(std::string_view user, std::string_view server) { return fmt::format("{}/{}", user, server); }
std::string esc(std::string_view s) { return boost::urls::encode(s, boost::urls::unreserved_chars); }
// A name in a server's URL, as JupyterHub's url_escape_path (quote with safe='@~'): e-mail-like
// user names keep their '@' (/user/alice@example.org/), everything else non-unreserved is
// percent-encoded (UTF-8).
std::string esc_path(std::string_view s) {
  static constexpr auto kSafe = boost::urls::unreserved_chars + '@';
  return boost::urls::encode(s, kSafe);
}
// One spawn's writes of its server row, in order. The "started" write is posted from the
// progress sink (which must not block) and may run after a later write; `settled` makes it a
// no-op then.
struct RowOrder {
  std::mutex m;
  bool settled = false;
};

std::string json_list(std::vector<std::string> const& v) {
  json::array a;
  for (auto const& s : v) a.emplace_back(s);
  return json::serialize(a);
}
}  // namespace

ServerManager::ServerManager(ServersConfig cfg, net::io_context& ioc, store::Store& store,
                             TokenService& tokens, spawn::Spawner& spawner, spawn::SpawnQueue& queue,
                             proxy::RouteTable& routes, Clock const& clock,
                             net::thread_pool& pool, spdlog::logger& log)
    : cfg_(std::move(cfg)), ioc_(ioc), store_(store), tokens_(tokens), spawner_(spawner), queue_(queue),
      routes_(routes), clock_(clock), pool_(pool), log_(log) {}

ServerManager::~ServerManager() = default;

std::string ServerManager::client_id_for(std::string_view user, std::string_view server_name) {
  auto id = "jupyterhub-user-" + esc(user);
  if (!server_name.empty()) id += "-" + esc(server_name);
  return id;
}

std::string ServerManager::prefix_for(std::string_view user, std::string_view server_name) const {
  auto p = cfg_.base_url + "user/" + esc_path(user) + "/";
  if (!server_name.empty()) p += esc_path(server_name) + "/";
  return p;
}

std::shared_ptr<ServerManager::Live> ServerManager::live_for(std::string const& user,
                                                             std::string const& server_name) const {
  std::lock_guard lock(mu_);
  auto it = live_.find(key(user, server_name));
  return it == live_.end() ? nullptr : it->second;
}

json::object ServerManager::ready_event(std::string_view user, std::string_view server_name) const {
  auto url = prefix_for(user, server_name);
  auto link = html_escape(url);
  return {{"progress", 100}, {"ready", true}, {"message", fmt::format("Server ready at {}", url)},
          {"html_message", fmt::format(R"(Server ready at <a href="{0}">{0}</a>)", link)}, {"url", url}};
}

void ServerManager::push_event(Live& live, int progress, std::string message, bool ready, bool failed) {
  // Caller holds mu_.
  json::object e{{"progress", progress}, {"message", message}};
  if (ready) e = ready_event(live.user, live.server_name);
  if (failed) e["failed"] = true;
  live.events.push_back(std::move(e));
  if (ready || failed) live.finished = true;
  live.changed.cancel();  // wake waiters; they re-arm
}

ServerView ServerManager::view(std::string const& user, std::string const& server_name) const {
  auto live = live_for(user, server_name);
  if (!live) return {};
  std::lock_guard lock(mu_);
  return {live->state, live->url, live->last_error, live->started, live->last_activity, live->display_name,
          live->user_options};
}

std::map<std::string, ServerView> ServerManager::views_for(std::string const& user) const {
  std::map<std::string, ServerView> out;
  std::lock_guard lock(mu_);
  for (auto const& [k, live] : live_)
    if (live->user == user)
      out[live->server_name] = {live->state, live->url, live->last_error, live->started, live->last_activity,
                                live->display_name, live->user_options};
  return out;
}

ServerManager::Progress ServerManager::progress(std::string const& user, std::string const& server_name) const {
  auto live = live_for(user, server_name);
  if (!live) return {{}, true};
  std::lock_guard lock(mu_);
  return {live->events, live->finished};
}

net::awaitable<ServerManager::Progress> ServerManager::wait_progress(std::string user, std::string server_name,
                                                                     std::size_t seen,
                                                                     std::chrono::milliseconds max_wait) {
  auto live = live_for(user, server_name);
  if (!live) co_return Progress{{}, true};
  auto deadline = std::chrono::steady_clock::now() + max_wait;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (live->events.size() > seen || live->finished) co_return Progress{live->events, live->finished};
      live->changed.expires_at(net::steady_timer::time_point::max());
    }
    if (std::chrono::steady_clock::now() >= deadline) co_return progress(user, server_name);
    // Wait for a change or the deadline, whichever comes first.
    net::steady_timer limit(co_await net::this_coro::executor);
    limit.expires_at(deadline);
    boost::system::error_code ec;
    limit.async_wait([live](boost::system::error_code e) { if (!e) live->changed.cancel(); });
    co_await live->changed.async_wait(net::redirect_error(net::use_awaitable, ec));
    limit.cancel();
  }
}

json::object ServerManager::last_user_options(std::string const& user, std::string const& server_name) const {
  auto live = live_for(user, server_name);
  if (!live) return {};
  std::lock_guard lock(mu_);
  return live->user_options;
}

net::awaitable<Result<std::string>> ServerManager::options_form(store::UserRow user, std::string server_name) {
  spawn::OptionsRequest who{user.name, server_name, user.admin, last_user_options(user.name, server_name)};
  co_return co_await spawner_.options_form(std::move(who));
}

net::awaitable<Result<json::object>> ServerManager::options_from_form(store::UserRow user, std::string server_name,
                                                                      std::vector<std::pair<std::string, std::string>> form) {
  spawn::OptionsRequest who{user.name, server_name, user.admin, last_user_options(user.name, server_name)};
  co_return co_await spawner_.options_from_form(std::move(who), std::move(form));
}

net::awaitable<Result<void>> ServerManager::check_user_options(store::UserRow user, std::string server_name,
                                                               json::object user_options) {
  spawn::OptionsRequest who{user.name, server_name, user.admin, last_user_options(user.name, server_name)};
  co_return co_await spawner_.check_user_options(std::move(who), std::move(user_options));
}

Result<ServerState> ServerManager::start(store::UserRow const& user, std::string const& server_name,
                                         json::object user_options, std::string display_name) {
  if (!server_name.empty() && !cfg_.allow_named_servers)
    return Error{Errc::bad_request, "Named servers are not enabled on this hub (allow_named_servers)."};
  if (server_name.find('/') != std::string::npos || server_name.size() > 255)
    return Error{Errc::bad_request, "Server names may not contain '/'."};
  // JupyterHub's named_server_limit_per_user counts the user's named servers other than this
  // one; nbhub forgets a named server when it stops, so the running and starting ones count.
  if (auto const limit = cfg_.named_server_limit_per_user; limit > 0 && !server_name.empty()) {
    std::size_t others = 0;
    for (auto const& [name, v] : views_for(user.name))
      if (!name.empty() && name != server_name && v.state != ServerState::stopped) ++others;
    if (others >= limit && view(user.name, server_name).state == ServerState::stopped)
      return Error{Errc::bad_request, fmt::format("User {} already has the maximum of {} named servers.  One must "
                                                  "be deleted before a new server can be created",
                                                  user.name, limit)};
  }
  // JupyterHub's too-many-users: at active_server_limit a new start is refused before anything
  // begins (429 through the API), rather than failing once queued. running_count() counts
  // pending servers too; a server already pending or ready is answered below as before.
  if (auto const active = queue_.active_limit();
      active && view(user.name, server_name).state == ServerState::stopped && running_count() >= active) {
    if (metrics_) metrics_->spawn_finished(SpawnStatus::too_many_users, {});
    return Error{Errc::unavailable, fmt::format("Active user limit exceeded: the hub is at its limit of {} running "
                                                "servers; try again later.", active)};
  }
  std::shared_ptr<Live> live;
  {
    std::lock_guard lock(mu_);
    auto& slot = live_[key(user.name, server_name)];
    if (!slot) slot = std::make_shared<Live>(ioc_);
    live = slot;
    if (live->state == ServerState::pending || live->state == ServerState::ready) {
      if (metrics_ && live->state == ServerState::pending) metrics_->spawn_finished(SpawnStatus::already_pending, {});
      return live->state;
    }
    if (live->state == ServerState::stopping)
      return Error{Errc::conflict, "The server is stopping; start it again once it has stopped."};
    live->user = user.name;
    live->server_name = server_name;
    live->user_id = user.id;
    live->state = ServerState::pending;
    live->display_name = display_name.empty() ? server_name : std::move(display_name);
    live->user_options = user_options;
    live->last_error.clear();
    live->events.clear();
    live->finished = false;
    push_event(*live, 0, "Server requested");
  }
  net::co_spawn(ioc_, run_spawn(user, server_name, live, std::move(user_options)), [this, name = user.name](std::exception_ptr e) {
    if (!e) return;
    try { std::rethrow_exception(e); } catch (std::exception const& ex) {
      log_.error("spawn of {}'s server ended by an exception: {}", name, ex.what());
    }
  });
  return ServerState::pending;
}

net::awaitable<void> ServerManager::run_spawn(store::UserRow user, std::string server_name,
                                              std::shared_ptr<Live> live, json::object user_options) {
  auto prefix = prefix_for(user.name, server_name);
  auto const t0 = std::chrono::steady_clock::now();
  auto fail = [&](std::string why, SpawnStatus status = SpawnStatus::failure) {
    if (metrics_) metrics_->spawn_finished(status, std::chrono::steady_clock::now() - t0);
    log_.warn("spawn of {} failed: {}", prefix, why);
    std::lock_guard lock(mu_);
    live->state = ServerState::stopped;
    live->last_error = why;
    live->url.clear();
    push_event(*live, 100, "Spawn failed: " + why, false, true);
  };
  auto order = std::make_shared<RowOrder>();
  auto cleanup = [this, order, user_id = user.id, server_name, client = client_id_for(user.name, server_name)]() {
    std::lock_guard settle(order->m);
    order->settled = true;
    (void)store_.delete_tokens_for_server(user_id, server_name);  // best effort: logged below on failure
    (void)store_.delete_oauth_client(client);
    (void)store_.delete_server(user_id, server_name);
  };

  // 1. The server's API token and OAuth client (spec §1.5, §1.6).
  auto client_id = client_id_for(user.name, server_name);
  auto register_work = [&, this]() -> Result<std::string> {
    auto token = tokens_.issue({.user_id = user.id, .server_name = server_name, .kind = "server",
                                .scopes = server_token_scopes(user.name, server_name),
                                .note = "Server at " + prefix});
    if (!token) return token.error();
    auto access = server_access_scopes(user.name, server_name);
    store::OAuthClientRow client{.client_id = client_id, .description = "Server at " + prefix,
                                 .redirect_uri = prefix + "oauth_callback",
                                 .secret_hash = token_hash(token->raw), .user_id = user.id,
                                 .server_name = server_name, .allowed_scopes = access,
                                 .created = clock_.now()};
    if (auto r = store_.upsert_oauth_client(client); !r) return r.error();
    store::ServerRow row{.user_id = user.id, .name = server_name, .pending = "spawn"};
    if (auto r = store_.upsert_server(row); !r) return r.error();
    return token->raw;
  };
  auto token = co_await run_blocking(pool_, std::move(register_work));
  if (!token) {
    fail(token.error().message);
    co_return;
  }

  // 2. The environment of the JupyterHub server contract (spec §1.2).
  spawn::SpawnRequest req;
  req.user = user.name;
  req.server_name = server_name;
  req.service_prefix = prefix;
  req.admin = user.admin;
  req.user_options = std::move(user_options);
  auto access_scopes = json_list(server_access_scopes(user.name, server_name));
  req.env = {
      {"JUPYTERHUB_API_TOKEN", *token},
      {"JPY_API_TOKEN", *token},
      {"JUPYTERHUB_CLIENT_ID", client_id},
      {"JUPYTERHUB_HOST", ""},
      {"JUPYTERHUB_OAUTH_CALLBACK_URL", prefix + "oauth_callback"},
      {"JUPYTERHUB_OAUTH_ACCESS_SCOPES", access_scopes},
      {"JUPYTERHUB_OAUTH_SCOPES", access_scopes},
      {"JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES", "[]"},
      {"JUPYTERHUB_USER", user.name},
      {"JUPYTERHUB_SERVER_NAME", server_name},
      {"JUPYTERHUB_API_URL", cfg_.hub_api_url},
      {"JUPYTERHUB_ACTIVITY_URL", cfg_.hub_api_url + "/users/" + esc(user.name) + "/activity"},
      {"JUPYTERHUB_BASE_URL", cfg_.base_url},
      {"JUPYTERHUB_SERVICE_PREFIX", prefix},
      {"JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED", "0"},
  };
  if (!cfg_.public_url.empty()) {
    auto origin = cfg_.public_url;
    while (!origin.empty() && origin.back() == '/') origin.pop_back();
    req.env["JUPYTERHUB_PUBLIC_URL"] = origin + prefix;
    req.env["JUPYTERHUB_PUBLIC_HUB_URL"] = origin + cfg_.base_url + "hub/";
  }

  // 2b. Extra environment from the pre-spawn hook (refresh_pre_spawn, the IdP's tokens).
  if (pre_spawn_) {
    auto extra = co_await pre_spawn_(user);
    if (!extra) {
      co_await run_blocking(pool_, cleanup);
      fail(extra.error().message);
      co_return;
    }
    for (auto& [k, v] : *extra) req.env[k] = std::move(v);
  }

  // 3. Start (queued under concurrent_spawn_limit), 4. wait until it answers, 5. route it.
  struct Sink final : spawn::ProgressSink {
    ServerManager& m;
    std::shared_ptr<Live> live;
    std::shared_ptr<RowOrder> order;
    std::int64_t user_id;
    Sink(ServerManager& mm, std::shared_ptr<Live> l, std::shared_ptr<RowOrder> o, std::int64_t uid)
        : m(mm), live(std::move(l)), order(std::move(o)), user_id(uid) {}
    void progress(spawn::SpawnProgress const& p) override {
      std::lock_guard lock(m.mu_);
      m.push_event(*live, p.progress, p.message);
    }
    void started(spawn::Started const& s) override {
      std::string server_name;
      {
        std::lock_guard lock(m.mu_);
        live->url = s.url;
        live->spawner_state = s.state;
        server_name = live->server_name;
      }
      // Recorded at once, still pending: if nbhub dies before the server answers, the next
      // nbhub adopts the process and waits for it (adopt_all) instead of leaking it.
      store::ServerRow row{.user_id = user_id, .name = server_name, .url = s.url, .state = s.state,
                           .pending = "spawn"};
      net::post(m.pool_, [&store = m.store_, &log = m.log_, order = order, row = std::move(row)] {
        std::lock_guard settle(order->m);
        if (order->settled) return;
        if (auto r = store.upsert_server(row); !r) log.warn("recording a started server failed: {}", r.error().message);
      });
    }
  } sink(*this, live, order, user.id);

  auto spawned = co_await queue_.spawn(req, sink);
  if (!spawned) {
    co_await run_blocking(pool_, cleanup);
    // The queue refuses with unavailable at active_server_limit: JupyterHub's too-many-users.
    bool at_limit = spawned.error().code == Errc::unavailable && queue_.at_active_limit();
    fail(spawned.error().message, at_limit ? SpawnStatus::too_many_users : SpawnStatus::failure);
    co_return;
  }
  auto const* started = &spawned->started;
  auto const route_t0 = std::chrono::steady_clock::now();
  auto added = routes_.add(proxy::route_key_for_url_path(prefix), started->url,
                           json::object{{"user", user.name}, {"server_name", server_name}});
  if (metrics_) metrics_->proxy_add_finished(added.has_value(), std::chrono::steady_clock::now() - route_t0);
  if (!added) {
    (void)co_await spawner_.stop(started->state, true);  // unroutable: never leave it running
    co_await run_blocking(pool_, cleanup);
    fail(added.error().message);
    co_return;
  }
  auto now = clock_.now();
  auto ready_work = [&, this]() {
    std::lock_guard settle(order->m);
    order->settled = true;
    return store_.upsert_server({.user_id = user.id, .name = server_name, .url = started->url,
                                 .state = started->state, .started = now, .pending = ""});
  };
  if (auto r = co_await run_blocking(pool_, std::move(ready_work)); !r)
    log_.warn("recording {} as running failed: {}", prefix, r.error().message);
  if (metrics_) metrics_->spawn_finished(SpawnStatus::success, std::chrono::steady_clock::now() - t0);
  routes_changed();
  std::lock_guard lock(mu_);
  live->state = ServerState::ready;
  live->started = now;
  push_event(*live, 100, "", true);
  log_.info("server {} ready at {}", prefix, started->url);
}

net::awaitable<Result<void>> ServerManager::stop(std::string user, std::string server_name) {
  auto live = live_for(user, server_name);
  if (!live) co_return Result<void>{};
  json::object state;
  std::int64_t user_id;
  {
    std::lock_guard lock(mu_);
    if (live->state == ServerState::stopped || live->state == ServerState::stopping) co_return Result<void>{};
    if (live->state == ServerState::pending)
      co_return Error{Errc::conflict, "The server is still starting; stop it once it is ready or has failed."};
    live->state = ServerState::stopping;
    state = live->spawner_state;
    user_id = live->user_id;
  }
  auto prefix = prefix_for(user, server_name);
  auto const t0 = std::chrono::steady_clock::now();
  routes_.remove(proxy::route_key_for_url_path(prefix));  // false when already gone: nothing left to fail
  if (metrics_) metrics_->proxy_delete_finished(true, std::chrono::steady_clock::now() - t0);
  auto stopped = co_await spawner_.stop(state, false);
  if (!stopped) log_.warn("stopping {}: {}", prefix, stopped.error().message);
  if (metrics_) metrics_->stop_finished(stopped.has_value(), std::chrono::steady_clock::now() - t0);
  auto cleanup = [this, user_id, server_name, client = client_id_for(user, server_name)]() {
    (void)store_.delete_tokens_for_server(user_id, server_name);
    (void)store_.delete_oauth_client(client);
    return store_.delete_server(user_id, server_name);
  };
  auto r = co_await run_blocking(pool_, std::move(cleanup));
  if (!r && r.error().code != Errc::not_found) log_.warn("forgetting {}: {}", prefix, r.error().message);
  routes_changed();
  std::unique_lock lock(mu_);
  live->state = ServerState::stopped;
  live->url.clear();
  live->events.clear();
  live->finished = true;
  log_.info("server {} stopped", prefix);
  auto options = live->user_options;
  lock.unlock();
  if (post_stop_) co_await post_stop_(user, server_name, std::move(options));
  co_return Result<void>{};
}

net::awaitable<void> ServerManager::adopt_all() {
  auto list_work = [this]() { return store_.list_servers(); };
  auto servers = co_await run_blocking(pool_, std::move(list_work));
  if (!servers) {
    log_.error("cannot read recorded servers: {}", servers.error().message);
    co_return;
  }
  for (auto& rec : *servers) {
    auto const& row = rec.server;
    auto prefix = prefix_for(rec.user_name, row.name);
    bool alive = false;
    bool const was_spawning = row.pending == "spawn";  // started, not yet seen answering
    if (!row.url.empty() && (row.pending.empty() || was_spawning) && spawner_.adopt(row.state).has_value()) {
      auto status = co_await spawner_.poll(row.state);
      alive = !status.has_value();
    }
    if (!alive) {
      log_.info("server {} did not survive the restart; marking it stopped", prefix);
      if (!row.state.empty()) (void)co_await spawner_.stop(row.state, true);
      auto forget = [this, row, client = client_id_for(rec.user_name, row.name)]() {
        (void)store_.delete_tokens_for_server(row.user_id, row.name);
        (void)store_.delete_oauth_client(client);
        return store_.delete_server(row.user_id, row.name);
      };
      (void)co_await run_blocking(pool_, std::move(forget));
      continue;
    }
    if (was_spawning) {
      log_.info("adopted pending server {} at {}; waiting for it to answer", prefix, row.url);
      wait_in_background(rec.user_name, row, "Waiting for the server to answer (adopted after an nbhub restart)");
      continue;
    }
    auto live = std::make_shared<Live>(ioc_);
    live->user = rec.user_name;
    live->server_name = row.name;
    live->user_id = row.user_id;
    live->state = ServerState::ready;
    live->url = row.url;
    live->spawner_state = row.state;
    live->started = row.started;
    live->finished = true;
    if (auto added = routes_.add(proxy::route_key_for_url_path(prefix), row.url,
                                 json::object{{"user", rec.user_name}, {"server_name", row.name}});
        !added) {
      log_.error("cannot route adopted server {}: {}", prefix, added.error().message);
      continue;
    }
    {
      std::lock_guard lock(mu_);
      live_[key(rec.user_name, row.name)] = live;
    }
    log_.info("adopted running server {} at {}", prefix, row.url);
  }
  routes_changed();  // rows of servers that did not survive are gone
  // Servers without a record are looked for in the background: that needs the spawner's
  // backend (a Kubernetes list), which must not hold up the listeners.
  net::co_spawn(ioc_, adopt_found(), [this](std::exception_ptr e) {
    if (!e) return;
    try { std::rethrow_exception(e); } catch (std::exception const& ex) {
      log_.error("looking for unrecorded servers ended by an exception: {}", ex.what());
    }
  });
}

net::awaitable<void> ServerManager::adopt_found() {
  // Servers running without a record (spec kubernetes.md §4 #5: the hub died between creating
  // a pod and recording it). One is adopted only when it still runs with a server token this
  // hub issued for exactly that user and server. One with any other token cannot sign anyone
  // in to this hub; it may be another hub's (two hubs sharing a namespace and labels), so it
  // is stopped only when the spawner's policy says so. A later spawn of the same server
  // replaces it anyway.
  auto found = co_await spawner_.discover();
  for (auto& f : found) {
    if (live_for(f.user, f.server_name)) continue;
    auto prefix = prefix_for(f.user, f.server_name);
    std::optional<store::TokenRow> token;
    if (!f.api_token.empty())
      if (auto t = co_await tokens_.resolve(f.api_token); t) token = *t;
    auto user_work = [this, name = f.user]() { return store_.get_user(name); };
    auto user = co_await run_blocking(pool_, std::move(user_work));
    bool valid = user && token && token->kind == "server" && token->user_id == user->id &&
                 token->server_name.value_or("") == f.server_name;
    if (!valid) {
      if (!f.stop_if_unusable) {
        log_.warn("found server {} at {} with no record and no valid token of its own (another hub's?); "
                  "leaving it alone", prefix, f.url);
        continue;
      }
      log_.warn("found server {} at {} with no record and no valid token of its own; stopping it", prefix, f.url);
      if (auto r = co_await spawner_.stop(f.state, false); !r)
        log_.error("stopping the unrecorded server {}: {}", prefix, r.error().message);
      continue;
    }
    if (f.url.empty()) {
      log_.info("found server {} with no record, still without an address; not adopted (starting it again "
                "replaces it)", prefix);
      continue;
    }
    store::ServerRow row{.user_id = user->id, .name = f.server_name, .url = f.url, .state = f.state,
                         .started = clock_.now(), .pending = "spawn"};
    auto record = [this, row]() { return store_.upsert_server(row); };
    if (auto r = co_await run_blocking(pool_, std::move(record)); !r) {
      log_.error("recording the found server {}: {}", prefix, r.error().message);
      continue;
    }
    (void)spawner_.adopt(f.state);  // discover() states are the spawner's own
    log_.info("adopting server {} at {}, found running without a record", prefix, f.url);
    wait_in_background(f.user, row, "Waiting for the server to answer (found running after an nbhub restart)");
  }
}

void ServerManager::wait_in_background(std::string const& user_name, store::ServerRow const& row,
                                       std::string const& why) {
  auto live = std::make_shared<Live>(ioc_);
  live->user = user_name;
  live->server_name = row.name;
  live->user_id = row.user_id;
  live->state = ServerState::pending;
  live->url = row.url;
  live->spawner_state = row.state;
  {
    std::lock_guard lock(mu_);
    live_[key(user_name, row.name)] = live;
    push_event(*live, 50, why);
  }
  // It becomes ready (routed) or is stopped.
  net::co_spawn(ioc_, resume_spawn(user_name, row, live), [this, prefix = prefix_for(user_name, row.name)](std::exception_ptr e) {
    if (!e) return;
    try { std::rethrow_exception(e); } catch (std::exception const& ex) {
      log_.error("waiting for server {} ended by an exception: {}", prefix, ex.what());
    }
  });
}

net::awaitable<void> ServerManager::resume_spawn(std::string user_name, store::ServerRow row,
                                                 std::shared_ptr<Live> live) {
  auto prefix = prefix_for(user_name, row.name);
  spawn::Started started{row.url, row.state};  // named: GCC 12 destroys temporaries in co_await twice
  auto ready = co_await queue_.await_ready(std::move(started), prefix);
  if (ready) {
    auto added = routes_.add(proxy::route_key_for_url_path(prefix), row.url,
                             json::object{{"user", user_name}, {"server_name", row.name}});
    if (added) {
      auto now = clock_.now();
      auto record = [this, row, now]() mutable {
        row.started = now;
        row.pending.clear();
        return store_.upsert_server(row);
      };
      if (auto r = co_await run_blocking(pool_, std::move(record)); !r)
        log_.warn("recording {} as running failed: {}", prefix, r.error().message);
      routes_changed();
      std::lock_guard lock(mu_);
      live->state = ServerState::ready;
      live->started = now;
      push_event(*live, 100, "", true);
      log_.info("server {} ready at {}", prefix, row.url);
      co_return;
    }
    (void)co_await spawner_.stop(row.state, true);  // unroutable: never leave it running
    ready = added.error();
  }
  auto forget = [this, row, client = client_id_for(user_name, row.name)]() {
    (void)store_.delete_tokens_for_server(row.user_id, row.name);
    (void)store_.delete_oauth_client(client);
    return store_.delete_server(row.user_id, row.name);
  };
  (void)co_await run_blocking(pool_, std::move(forget));
  log_.warn("spawn of {} failed: {}", prefix, ready.error().message);
  std::lock_guard lock(mu_);
  live->state = ServerState::stopped;
  live->last_error = ready.error().message;
  live->url.clear();
  push_event(*live, 100, "Spawn failed: " + ready.error().message, false, true);
}

std::size_t ServerManager::running_count() const {
  std::lock_guard lock(mu_);
  return std::count_if(live_.begin(), live_.end(), [](auto const& kv) {
    return kv.second->state == ServerState::pending || kv.second->state == ServerState::ready;
  });
}

net::awaitable<void> ServerManager::cull(std::chrono::seconds timeout, std::chrono::seconds max_age) {
  auto now = clock_.now();
  std::vector<std::pair<std::string, std::string>> victims;
  {
    std::lock_guard lock(mu_);
    for (auto const& [k, live] : live_) {
      if (live->state != ServerState::ready) continue;
      auto last = live->last_activity.value_or(live->started.value_or(now));
      bool idle = now - last > timeout;
      bool old = max_age.count() > 0 && live->started && now - *live->started > max_age;
      if (idle || old) victims.emplace_back(live->user, live->server_name);
    }
  }
  for (auto const& [user, server] : victims) {
    log_.info("culling {} (idle longer than {} s or older than max_age)", prefix_for(user, server), timeout.count());
    auto r = co_await stop(user, server);
    if (!r) log_.warn("culling {}: {}", prefix_for(user, server), r.error().message);
  }
}

net::awaitable<void> ServerManager::check_all() {
  // Proxy activity → live servers and the store (only moves forward, as JupyterHub does).
  std::vector<std::tuple<std::int64_t, std::string, Clock::SysTime>> touched;
  {
    auto since = [&] { std::lock_guard lock(mu_); return activity_flushed_; }();
    auto now = clock_.now();
    for (auto const& a : routes_.activity_since(since)) {
      auto u = a.data.find("user");
      auto sn = a.data.find("server_name");
      if (u == a.data.end() || !u->value().is_string()) continue;
      std::string user(u->value().get_string());
      std::string server = sn != a.data.end() && sn->value().is_string() ? std::string(sn->value().get_string()) : "";
      std::lock_guard lock(mu_);
      auto it = live_.find(key(user, server));
      if (it == live_.end()) continue;
      if (!it->second->last_activity || *it->second->last_activity < a.last_activity) it->second->last_activity = a.last_activity;
      touched.emplace_back(it->second->user_id, server, a.last_activity);
    }
    std::lock_guard lock(mu_);
    activity_flushed_ = now;
  }
  if (!touched.empty()) {
    auto flush = [this, touched]() {
      for (auto const& [uid, server, ts] : touched)
        if (auto r = store_.touch_server_activity(uid, server, ts); !r)
          log_.warn("recording activity: {}", r.error().message);
    };
    co_await run_blocking(pool_, flush);
  }

  std::vector<std::shared_ptr<Live>> ready;
  {
    std::lock_guard lock(mu_);
    for (auto const& [k, live] : live_)
      if (live->state == ServerState::ready) ready.push_back(live);
  }
  for (auto const& live : ready) {
    json::object state;
    {
      std::lock_guard lock(mu_);
      state = live->spawner_state;
    }
    auto const poll_t0 = std::chrono::steady_clock::now();
    auto status = co_await spawner_.poll(state);
    if (metrics_)
      metrics_->poll_finished(status ? PollStatus::stopped : PollStatus::running, std::chrono::steady_clock::now() - poll_t0);
    if (!status) continue;
    auto prefix = prefix_for(live->user, live->server_name);
    auto reason = co_await spawner_.exit_reason(state);
    log_.warn("server {} exited with status {}{}", prefix, *status, reason.empty() ? "" : ": " + reason);
    (void)co_await stop(live->user, live->server_name);
    std::lock_guard lock(mu_);
    live->last_error = fmt::format("Your server stopped unexpectedly (exit status {}){}", *status,
                                   reason.empty() ? "." : ": " + reason + ".");
  }
}

}  // namespace nbhub::hub
