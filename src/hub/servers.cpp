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
#include <deque>
#include <set>
#include <tuple>

#include "core/html_escape.hpp"
#include "hub/blocking.hpp"
#include "hub/server_names.hpp"
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

// One server as this replica knows it: a cache of its row (docs/replicas.md). Fields are
// guarded by ServerManager::mu_; `changed` wakes progress waiters.
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
  // The row whose start display_name and user_options belong to (-1: set by a start here and
  // not yet claimed); another row's are read from the store (migration 9, load_choices).
  std::int64_t choices_row = 0;
  // The row: its id (0 until claimed), the version last written or read, its driver and lease.
  std::int64_t row_id = 0;
  std::int64_t version = 0;
  std::string driver;
  std::optional<Clock::SysTime> lease_until;
  bool driving = false;      // a coroutine of this replica drives the current transition
  bool routed_here = false;  // this replica added the route (route_sync leaves it alone)
  bool adopted = false;      // this replica's spawner was handed its state (spawner.adopt)
  std::chrono::steady_clock::time_point written{};  // this replica's last transition
  std::deque<json::object> unsaved;  // progress events not yet in the store, in order
  bool saving = false;               // a pool task is writing `unsaved`
};

// One spawn's writes of its server row, in order. The "started" write is posted from the
// progress sink (which must not block) and may run after a later write; `settled` makes it a
// no-op then.
struct ServerManager::RowOrder {
  std::mutex m;
  bool settled = false;
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

std::string json_list(std::vector<std::string> const& v) {
  json::array a;
  for (auto const& s : v) a.emplace_back(s);
  return json::serialize(a);
}

ServerState state_of(store::ServerPhase p) {
  switch (p) {
    case store::ServerPhase::pending: return ServerState::pending;
    case store::ServerPhase::ready: return ServerState::ready;
    case store::ServerPhase::stopping: return ServerState::stopping;
    case store::ServerPhase::stopped: return ServerState::stopped;
  }
  return ServerState::stopped;
}

std::string_view host_of(std::string_view replica_id) { return replica_id.substr(0, replica_id.find(':')); }

bool is_terminal(json::array const& events) {
  if (events.empty() || !events.back().is_object()) return false;
  auto const& e = events.back().get_object();
  return e.contains("ready") || e.contains("failed");
}

template <class Awaitable>
void spawn_logged(net::io_context& ioc, Awaitable a, spdlog::logger& log, std::string what) {
  net::co_spawn(ioc, std::move(a), [&log, what = std::move(what)](std::exception_ptr e) {
    if (!e) return;
    try { std::rethrow_exception(e); } catch (std::exception const& ex) {
      log.error("{} ended by an exception: {}", what, ex.what());
    }
  });
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

bool ServerManager::routed_here(std::string const& user, std::string const& server_name) const {
  std::lock_guard lock(mu_);
  auto it = live_.find(key(user, server_name));
  return it != live_.end() && (it->second->routed_here || it->second->driving);
}

bool ServerManager::can_reach(std::string_view driver) const {
  return !spawner_.host_bound() || driver.empty() || host_of(driver) == host_of(cfg_.replica_id);
}

json::object ServerManager::ready_event(std::string_view user, std::string_view server_name) const {
  auto url = prefix_for(user, server_name);
  auto link = html_escape(url);
  return {{"progress", 100}, {"ready", true}, {"message", fmt::format("Server ready at {}", url)},
          {"html_message", fmt::format(R"(Server ready at <a href="{0}">{0}</a>)", link)}, {"url", url}};
}

void ServerManager::push_event(std::shared_ptr<Live> const& live, int progress, std::string message, bool ready,
                               bool failed) {
  // Caller holds mu_.
  json::object e{{"progress", progress}, {"message", message}};
  if (ready) e = ready_event(live->user, live->server_name);
  if (failed) e["failed"] = true;
  live->events.push_back(e);
  if (ready || failed) live->finished = true;
  live->changed.cancel();  // wake waiters; they re-arm
  live->unsaved.push_back(std::move(e));
  save_events(live);
}

void ServerManager::save_events(std::shared_ptr<Live> const& live) {
  // Caller holds mu_. One pool task per server at a time keeps the events in order.
  if (live->row_id == 0 || live->saving || live->unsaved.empty()) return;
  live->saving = true;
  net::post(pool_, [this, live] {
    for (;;) {
      json::object e;
      std::int64_t id = 0;
      {
        std::lock_guard lock(mu_);
        if (live->unsaved.empty()) {
          live->saving = false;
          return;
        }
        e = std::move(live->unsaved.front());
        live->unsaved.pop_front();
        id = live->row_id;
      }
      if (auto r = store_.append_server_event(id, e, cfg_.events_kept, cfg_.replica_id);
          !r && r.error().code != Errc::not_found)
        log_.warn("recording a progress event of {}: {}", prefix_for(live->user, live->server_name), r.error().message);
    }
  });
}

Result<store::ServerRow> ServerManager::write_row(Live& live, std::function<void(store::ServerRow&)> const& change) {
  store::ServerRow next;
  std::int64_t expected = 0;
  {
    std::lock_guard lock(mu_);
    next = {.id = live.row_id, .user_id = live.user_id, .name = live.server_name, .url = live.url,
            .state = live.spawner_state, .started = live.started,
            .pending = live.state == ServerState::pending    ? "spawn"
                       : live.state == ServerState::stopping ? "stop"
                                                             : "",
            .driver = live.driver, .lease_until = live.lease_until, .version = live.version,
            .last_error = live.last_error};
    expected = live.version;
  }
  change(next);
  // A transition this replica drives carries a fresh lease: keep_leases renews it in the
  // store only, so the entry's copy may be older than what the row holds.
  if (!next.pending.empty() && next.driver == cfg_.replica_id) next.lease_until = clock_.now() + cfg_.lease_ttl;
  auto r = store_.advance_server(next, expected);
  if (!r) return r;
  std::lock_guard lock(mu_);
  live.version = r->version;
  live.driver = r->driver;
  live.lease_until = r->lease_until;
  live.written = std::chrono::steady_clock::now();
  return r;
}

void ServerManager::record_failure(Live& live, std::string const& why) {
  std::int64_t row_id = 0;
  {
    std::lock_guard lock(mu_);
    row_id = live.row_id;
  }
  (void)store_.delete_tokens_for_server(live.user_id, live.server_name);  // best effort, as a stop
  (void)store_.delete_oauth_client(client_id_for(live.user, live.server_name));
  if (row_id == 0) return;
  auto r = write_row(live, [&](store::ServerRow& row) {
    row.pending.clear();
    row.url.clear();
    row.state = {};
    row.started.reset();
    row.lease_until.reset();
    row.driver = cfg_.replica_id;
    row.last_error = why;
  });
  if (!r) log_.warn("recording the failed start of {}: {}", prefix_for(live.user, live.server_name), r.error().message);
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

net::awaitable<spawn::OptionsRequest> ServerManager::options_request(store::UserRow user, std::string server_name) {
  // The store's record survives stops, restarts and other replicas' starts; this replica's
  // memory stands in only when the store cannot be read.
  auto work = [this, id = user.id, server_name]() { return store_.get_server_choices(id, server_name); };
  auto saved = co_await run_blocking(pool_, std::move(work));
  if (!saved) log_.warn("reading the last choices of {}: {}", prefix_for(user.name, server_name), saved.error().message);
  auto last = saved && *saved ? std::move((*saved)->user_options) : last_user_options(user.name, server_name);
  co_return spawn::OptionsRequest{user.name, server_name, user.admin, std::move(last)};
}

net::awaitable<Result<std::string>> ServerManager::options_form(store::UserRow user, std::string server_name) {
  auto who = co_await options_request(user, server_name);
  co_return co_await spawner_.options_form(std::move(who));
}

net::awaitable<Result<json::object>> ServerManager::options_from_form(store::UserRow user, std::string server_name,
                                                                      std::vector<std::pair<std::string, std::string>> form) {
  auto who = co_await options_request(user, server_name);
  co_return co_await spawner_.options_from_form(std::move(who), std::move(form));
}

net::awaitable<Result<void>> ServerManager::check_user_options(store::UserRow user, std::string server_name,
                                                               json::object user_options) {
  auto who = co_await options_request(user, server_name);
  co_return co_await spawner_.check_user_options(std::move(who), std::move(user_options));
}

std::size_t ServerManager::active_locked() const {
  return std::count_if(live_.begin(), live_.end(), [](auto const& kv) {
    return kv.second->state == ServerState::pending || kv.second->state == ServerState::ready;
  });
}

std::size_t ServerManager::named_count(std::string const& user,
                                      std::vector<store::NamedServerRow> const& defined) const {
  std::set<std::string> names;
  for (auto const& d : defined) names.insert(d.name);
  for (auto const& [n, v] : views_for(user))
    if (!n.empty() && v.state != ServerState::stopped) names.insert(n);
  return names.size();
}

net::awaitable<Result<void>> ServerManager::check_named_limit(store::UserRow user, std::string server_name,
                                                              std::size_t limit) {
  if (limit == 0 || server_name.empty()) co_return Result<void>{};
  auto list = [this, id = user.id]() { return store_.list_named_servers(id); };
  auto defined = co_await run_blocking(pool_, std::move(list));
  if (!defined) co_return defined.error();
  bool const known = view(user.name, server_name).state != ServerState::stopped ||
                     std::any_of(defined->begin(), defined->end(), [&](auto const& d) { return d.name == server_name; });
  if (known || named_count(user.name, *defined) < limit) co_return Result<void>{};
  co_return Error{Errc::bad_request, fmt::format("User {} already has the maximum of {} named servers.  One must "
                                                 "be deleted before a new server can be created",
                                                 user.name, limit)};
}

Result<ServerState> ServerManager::start(store::UserRow const& user, std::string const& server_name,
                                         json::object user_options, std::string display_name) {
  if (!server_name.empty() && !cfg_.allow_named_servers)
    return Error{Errc::bad_request, "Named servers are not enabled on this hub (allow_named_servers)."};
  if (server_name.find('/') != std::string::npos || server_name.size() > 255)
    return Error{Errc::bad_request, "Server names may not contain '/'."};
  if (!server_name.empty() && !cfg_.allow_invalid_named_server_start && !is_strict_server_name(server_name))
    return Error{Errc::bad_request, fmt::format("Starting invalid server_name {} is disabled, contact your administrator",
                                                server_name)};
  auto const active = queue_.active_limit();  // before mu_: the queue's own count takes it
  std::shared_ptr<Live> live;
  {
    // One locked pass: the server's state and the count of active servers (the table mirrors
    // the other replicas' servers too) are read together.
    std::lock_guard lock(mu_);
    auto const k = key(user.name, server_name);
    auto it = live_.find(k);
    if (it != live_.end()) live = it->second;
    if (live && (live->state == ServerState::pending || live->state == ServerState::ready)) {
      if (metrics_ && live->state == ServerState::pending) metrics_->spawn_finished(SpawnStatus::already_pending, {});
      return live->state;
    }
    if (live && live->state == ServerState::stopping)
      return Error{Errc::conflict, "The server is stopping; start it again once it has stopped."};
    // JupyterHub's too-many-users: at active_server_limit a new start is refused before
    // anything begins (429 through the API), rather than failing once queued.
    if (active && active_locked() >= active) {
      if (metrics_) metrics_->spawn_finished(SpawnStatus::too_many_users, {});
      return Error{Errc::unavailable, fmt::format("Active user limit exceeded: the hub is at its limit of {} running "
                                                  "servers; try again later.", active)};
    }
    if (!live) {
      live = std::make_shared<Live>(ioc_);
      live_[k] = live;
    }
    live->user = user.name;
    live->server_name = server_name;
    live->user_id = user.id;
    live->state = ServerState::pending;
    live->display_name = display_name.empty() ? server_name : std::move(display_name);
    live->user_options = user_options;
    live->choices_row = -1;
    live->driving = true;
    live->written = std::chrono::steady_clock::now();
    live->last_error.clear();
    live->url.clear();
    live->events.clear();
    live->unsaved.clear();
    live->finished = false;
    live->row_id = 0;  // until the claim: the events wait in `unsaved`
    push_event(live, 0, "Server requested");
  }
  spawn_logged(ioc_, run_spawn(user, server_name, live, std::move(user_options)), log_,
               "spawn of " + user.name + "'s server");
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
    live->driving = false;
    push_event(live, 100, "Spawn failed: " + why, false, true);
  };
  auto order = std::make_shared<RowOrder>();
  // The blocking end of a failed start, for run_blocking.
  auto failed = [this, order, live](std::string why) {
    return [this, order, live, why = std::move(why)]() {
      std::lock_guard settle(order->m);
      order->settled = true;
      record_failure(*live, why);
    };
  };

  // 0. The claim: stopped -> pending in the store, driven by this replica. Another replica's
  // start (or one of ours that lost a race) wins at most once; the loser follows its spawn.
  auto claim_work = [this, uid = user.id, server_name]() {
    return store_.claim_server_start(uid, server_name, cfg_.replica_id, clock_.now() + cfg_.lease_ttl);
  };
  auto claim = co_await run_blocking(pool_, std::move(claim_work));
  if (!claim) {
    fail(claim.error().message);
    co_return;
  }
  if (!claim->won) {
    auto const& row = claim->row;
    log_.info("server {} is already {} (driven by replica {}); following it instead of starting it again", prefix,
              to_string(state_of(store::phase_of(row))), row.driver);
    if (metrics_) metrics_->spawn_finished(SpawnStatus::already_pending, {});
    bool reread = false;
    {
      std::lock_guard lock(mu_);
      live->driving = false;
      live->version = 0;  // take the row whatever its version
      reread = apply_row_locked(*live, store::OwnedServer{user.name, row});
      live->changed.cancel();
    }
    if (reread) {
      auto events_work = [this, id = row.id]() { return store_.list_server_events(id, 0); };
      auto events = co_await run_blocking(pool_, std::move(events_work));
      std::lock_guard lock(mu_);
      load_events_locked(*live, row.id, std::move(events));
    }
    co_return;
  }
  {
    std::lock_guard lock(mu_);
    live->row_id = claim->row.id;
    live->version = claim->row.version;
    live->driver = claim->row.driver;
    live->lease_until = claim->row.lease_until;
    live->choices_row = claim->row.id;
    save_events(live);  // "Server requested", kept until the row existed
  }

  // 1. The server's API token and OAuth client (spec §1.5, §1.6).
  auto client_id = client_id_for(user.name, server_name);
  auto register_work = [&, this]() -> Result<std::string> {
    // What this start asked for outlives the stop and a restart (migration 9); without it the
    // server still starts, only the next form's pre-selection is lost.
    store::ServerChoicesRow choices{.user_id = user.id, .name = server_name, .user_options = user_options};
    {
      std::lock_guard lock(mu_);
      if (live->display_name != server_name) choices.display_name = live->display_name;
    }
    if (auto saved = store_.save_server_choices(choices); !saved)
      log_.warn("saving the choices of {}: {}", prefix, saved.error().message);
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
    return token->raw;
  };
  auto token = co_await run_blocking(pool_, std::move(register_work));
  if (!token) {
    auto on_failure = failed(token.error().message);
    co_await run_blocking(pool_, std::move(on_failure));
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
      auto on_failure = failed(extra.error().message);
      co_await run_blocking(pool_, std::move(on_failure));
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
    Sink(ServerManager& mm, std::shared_ptr<Live> l, std::shared_ptr<RowOrder> o)
        : m(mm), live(std::move(l)), order(std::move(o)) {}
    void progress(spawn::SpawnProgress const& p) override {
      std::lock_guard lock(m.mu_);
      m.push_event(live, p.progress, p.message);
    }
    void started(spawn::Started const& s) override {
      {
        std::lock_guard lock(m.mu_);
        live->url = s.url;
        live->spawner_state = s.state;
      }
      // Recorded at once, still pending: if this replica dies before the server answers,
      // another one (or this one restarted) takes it over and waits for it instead of leaking it.
      net::post(m.pool_, [&m = m, order = order, live = live] {
        std::lock_guard settle(order->m);
        if (order->settled) return;
        if (auto r = m.write_row(*live, [](store::ServerRow&) {}); !r)
          m.log_.warn("recording a started server failed: {}", r.error().message);
      });
    }
  } sink(*this, live, order);

  auto spawned = co_await queue_.spawn(req, sink);
  if (!spawned) {
    auto on_failure = failed(spawned.error().message);
    co_await run_blocking(pool_, std::move(on_failure));
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
    auto on_failure = failed(added.error().message);
    co_await run_blocking(pool_, std::move(on_failure));
    fail(added.error().message);
    co_return;
  }
  auto now = clock_.now();
  auto ready_work = [&, this]() {
    std::lock_guard settle(order->m);
    order->settled = true;
    {
      std::lock_guard lock(mu_);
      live->url = started->url;
      live->spawner_state = started->state;
    }
    return write_row(*live, [&](store::ServerRow& row) {
      row.pending.clear();
      row.started = now;
      row.lease_until.reset();
    });
  };
  auto recorded = co_await run_blocking(pool_, std::move(ready_work));
  if (!recorded && recorded.error().code == Errc::conflict) {
    // Taken over meanwhile (this replica's lease ran out): the replica that took it over
    // reconciles the server with the spawner; this one lets go of it.
    log_.warn("server {} was taken over by another replica while it started; leaving it to that replica", prefix);
    routes_.remove(proxy::route_key_for_url_path(prefix));
    std::lock_guard lock(mu_);
    live->driving = false;
    co_return;
  }
  if (!recorded) log_.warn("recording {} as running failed: {}", prefix, recorded.error().message);
  if (metrics_) metrics_->spawn_finished(SpawnStatus::success, std::chrono::steady_clock::now() - t0);
  std::lock_guard lock(mu_);
  live->state = ServerState::ready;
  live->started = now;
  live->routed_here = true;
  live->driving = false;
  push_event(live, 100, "", true);
  log_.info("server {} ready at {}", prefix, started->url);
}

net::awaitable<Result<void>> ServerManager::stop(std::string user, std::string server_name) {
  auto live = live_for(user, server_name);
  if (!live) co_return Result<void>{};
  {
    std::lock_guard lock(mu_);
    if (live->state == ServerState::stopped || live->state == ServerState::stopping) co_return Result<void>{};
    if (live->state == ServerState::pending)
      co_return Error{Errc::conflict, "The server is still starting; stop it once it is ready or has failed."};
    if (!can_reach(live->driver))
      co_return Error{Errc::unavailable, fmt::format("The server runs on the machine of replica {}; stop it through "
                                                     "a hub replica on that machine.", live->driver)};
    live->state = ServerState::stopping;
    live->driving = true;
    live->written = std::chrono::steady_clock::now();
  }
  // ready -> stopping in the store: of several replicas (or a stop and a cull) one wins.
  if (live->row_id != 0) {
    auto claim_stop = [this, live]() {
      return write_row(*live, [this](store::ServerRow& row) {
        row.pending = "stop";
        row.driver = cfg_.replica_id;
        row.lease_until = clock_.now() + cfg_.lease_ttl;
      });
    };
    auto claimed = co_await run_blocking(pool_, std::move(claim_stop));
    if (!claimed) {
      {
        std::lock_guard lock(mu_);
        live->state = ServerState::ready;
        live->driving = false;
      }
      if (claimed.error().code != Errc::conflict) co_return claimed.error();
      // Someone else changed it: stopped or stopping already is what was asked for.
      auto reread = [this, uid = live->user_id, server_name]() { return store_.get_server(uid, server_name); };
      auto row = co_await run_blocking(pool_, std::move(reread));
      if (!row || store::phase_of(*row) == store::ServerPhase::stopping ||
          store::phase_of(*row) == store::ServerPhase::stopped)
        co_return Result<void>{};
      co_return Error{Errc::conflict, "The server changed while it was being stopped; try again."};
    }
  }
  co_await finish_stop(live);
  co_return Result<void>{};
}

net::awaitable<void> ServerManager::finish_stop(std::shared_ptr<Live> live) {
  json::object state;
  std::string user, server_name;
  std::int64_t user_id = 0;
  {
    std::lock_guard lock(mu_);
    state = live->spawner_state;
    user = live->user;
    server_name = live->server_name;
    user_id = live->user_id;
  }
  auto prefix = prefix_for(user, server_name);
  auto const t0 = std::chrono::steady_clock::now();
  routes_.remove(proxy::route_key_for_url_path(prefix));  // false when already gone: nothing left to fail
  if (metrics_) metrics_->proxy_delete_finished(true, std::chrono::steady_clock::now() - t0);
  auto stopped = co_await spawner_.stop(state, false);
  if (!stopped) log_.warn("stopping {}: {}", prefix, stopped.error().message);
  if (metrics_) metrics_->stop_finished(stopped.has_value(), std::chrono::steady_clock::now() - t0);
  auto cleanup = [this, live, user_id, server_name, client = client_id_for(user, server_name)]() -> Result<bool> {
    (void)store_.delete_tokens_for_server(user_id, server_name);
    (void)store_.delete_oauth_client(client);
    std::int64_t id = 0, version = 0;
    {
      std::lock_guard lock(mu_);
      id = live->row_id;
      version = live->version;
    }
    if (id == 0) return store_.delete_server(user_id, server_name);
    return store_.finish_server_stop(id, version, cfg_.replica_id);
  };
  auto r = co_await run_blocking(pool_, std::move(cleanup));
  if (!r && r.error().code != Errc::not_found) log_.warn("forgetting {}: {}", prefix, r.error().message);
  std::unique_lock lock(mu_);
  live->state = ServerState::stopped;
  live->url.clear();
  live->events.clear();
  live->finished = true;
  live->driving = false;
  live->routed_here = false;
  live->row_id = 0;
  live->version = 0;
  live->written = std::chrono::steady_clock::now();
  log_.info("server {} stopped", prefix);
  auto options = live->user_options;
  lock.unlock();
  if (post_stop_) co_await post_stop_(user, server_name, std::move(options));
}

bool ServerManager::apply_row_locked(Live& live, store::OwnedServer const& rec) {
  auto const& row = rec.server;
  if (row.version < live.version && row.id == live.row_id) return false;  // an older read
  auto const before = live.state;
  auto const changed = row.version != live.version || row.id != live.row_id;
  auto const next = state_of(store::phase_of(row));
  live.user = rec.user_name;
  live.server_name = row.name;
  live.user_id = row.user_id;
  live.row_id = row.id;
  live.version = row.version;
  live.driver = row.driver;
  live.lease_until = row.lease_until;
  if (row.last_activity && (!live.last_activity || *live.last_activity < *row.last_activity))
    live.last_activity = row.last_activity;
  if (!changed && next == before) return next == ServerState::pending;
  if (before == ServerState::ready && live.routed_here && (next != ServerState::ready || row.url != live.url)) {
    routes_.remove(proxy::route_key_for_url_path(prefix_for(live.user, live.server_name)));
    live.routed_here = false;
  }
  live.state = next;
  live.url = row.url;
  live.spawner_state = row.state;
  live.started = row.started;
  live.last_error = row.last_error;
  // A spawn's events, while it runs and once it ended (ready or failed), for the event stream;
  // it stays unfinished until they are read (load_events), so a stream following it ends
  // with the spawn's last event rather than before it.
  bool const reread = next == ServerState::pending || (before == ServerState::pending && next == ServerState::ready) ||
                      (next == ServerState::stopped && !row.last_error.empty());
  live.finished = next != ServerState::pending && !reread;
  live.changed.cancel();
  return reread;
}

void ServerManager::load_events_locked(Live& live, std::int64_t row_id, Result<std::vector<store::ServerEvent>> events) {
  if (live.driving || live.row_id != row_id) return;
  json::array loaded;
  if (events)
    for (auto& e : *events) loaded.push_back(std::move(e.event));
  else
    loaded = live.events;  // unreadable now: keep what was shown, end it as the row says
  // The row may have moved on before its last event was written: end the stream as it ended.
  if (live.state == ServerState::ready && !is_terminal(loaded)) loaded.push_back(ready_event(live.user, live.server_name));
  if (live.state == ServerState::stopped && !is_terminal(loaded))
    loaded.push_back(json::object{{"progress", 100}, {"failed", true}, {"message", "Spawn failed: " + live.last_error}});
  live.finished = live.state != ServerState::pending;
  if (loaded != live.events || live.finished) {
    live.events = std::move(loaded);
    live.changed.cancel();
  }
}

net::awaitable<std::optional<std::vector<store::OwnedServer>>> ServerManager::sync_from_store() {
  auto const read_at = std::chrono::steady_clock::now();
  auto list = [this]() { return store_.list_servers(); };
  auto rows = co_await run_blocking(pool_, std::move(list));
  if (!rows) {
    log_.warn("reading the servers' rows: {}", rows.error().message);
    co_return std::nullopt;
  }
  std::vector<std::pair<std::shared_ptr<Live>, std::int64_t>> reread;  // entry, row id
  {
    std::lock_guard lock(mu_);
    std::set<std::string> present;
    for (auto const& rec : *rows) {
      auto const k = key(rec.user_name, rec.server.name);
      present.insert(k);
      auto& slot = live_[k];
      if (!slot) slot = std::make_shared<Live>(ioc_);
      // This replica's own transitions, and writes newer than the read, are ahead of the rows.
      if (slot->driving || slot->written > read_at) continue;
      if (apply_row_locked(*slot, rec)) reread.emplace_back(slot, rec.server.id);
    }
    for (auto& [k, live] : live_) {
      if (present.contains(k) || live->driving || live->written > read_at || live->row_id == 0) continue;
      // The row is gone: the server was stopped (by another replica, or its user deleted).
      if (live->routed_here) routes_.remove(proxy::route_key_for_url_path(prefix_for(live->user, live->server_name)));
      live->routed_here = false;
      live->state = ServerState::stopped;
      live->url.clear();
      live->events.clear();
      live->finished = true;
      live->row_id = 0;
      live->version = 0;
      live->changed.cancel();
    }
  }
  // Other replicas' spawns: their progress events, for the pending page and event stream here.
  for (auto const& [live, id] : reread) {
    auto events_work = [this, id = id]() { return store_.list_server_events(id, 0); };
    auto events = co_await run_blocking(pool_, std::move(events_work));
    std::lock_guard lock(mu_);
    load_events_locked(*live, id, std::move(events));
  }
  co_await load_choices();
  co_return std::move(*rows);
}

net::awaitable<void> ServerManager::load_choices() {
  struct Wanted {
    std::shared_ptr<Live> live;
    std::int64_t user_id = 0;
    std::string server_name;
    std::int64_t row_id = 0;
  };
  std::vector<Wanted> wanted;
  {
    std::lock_guard lock(mu_);
    for (auto const& [k, live] : live_)
      if (live->row_id != 0 && !live->driving && live->choices_row != live->row_id)
        wanted.push_back({live, live->user_id, live->server_name, live->row_id});
  }
  // Once per row: a server adopted or started elsewhere is read when first seen.
  for (auto& w : wanted) {
    auto work = [this, id = w.user_id, name = w.server_name]() { return store_.get_server_choices(id, name); };
    auto saved = co_await run_blocking(pool_, std::move(work));
    if (!saved) {
      log_.warn("reading the last choices of {}: {}", prefix_for(w.live->user, w.server_name), saved.error().message);
      continue;
    }
    std::lock_guard lock(mu_);
    if (w.live->row_id != w.row_id || w.live->driving) continue;
    w.live->choices_row = w.row_id;
    w.live->display_name = *saved && !(*saved)->display_name.empty() ? (*saved)->display_name : w.server_name;
    w.live->user_options = *saved ? std::move((*saved)->user_options) : json::object{};
  }
}

net::awaitable<void> ServerManager::adopt_all() {
  auto list_work = [this]() { return store_.list_servers(); };
  auto servers = co_await run_blocking(pool_, std::move(list_work));
  if (!servers) {
    log_.error("cannot read recorded servers: {}", servers.error().message);
    co_return;
  }
  auto const now = clock_.now();
  for (auto& rec : *servers) {
    auto const& row = rec.server;
    auto prefix = prefix_for(rec.user_name, row.name);
    auto live = std::make_shared<Live>(ioc_);
    {
      std::lock_guard lock(mu_);
      (void)apply_row_locked(*live, rec);
      live_[key(rec.user_name, row.name)] = live;
    }
    auto const phase = store::phase_of(row);
    if (!can_reach(row.driver)) {
      log_.info("server {} runs on the machine of replica {}; this replica only follows it", prefix, row.driver);
      continue;
    }
    if (phase == store::ServerPhase::pending || phase == store::ServerPhase::stopping) {
      // SQLite: the driver was this process before a restart. PostgreSQL: another replica may
      // be driving it; take it over only once its lease ran out (the poll job checks again).
      bool const force = !cfg_.shared_store;
      if (force || !row.lease_until || *row.lease_until <= now)
        spawn_logged(ioc_, take_over(live, force), log_, "taking over server " + prefix);
      continue;
    }
    if (phase != store::ServerPhase::ready) continue;
    bool alive = false;
    if (spawner_.adopt(row.state).has_value()) {
      auto status = co_await spawner_.poll(row.state);
      alive = !status.has_value();
    }
    if (!alive) {
      log_.info("server {} did not survive the restart; marking it stopped", prefix);
      if (!row.state.empty()) (void)co_await spawner_.stop(row.state, true);
      auto forget = [this, row, client = client_id_for(rec.user_name, row.name)]() {
        (void)store_.delete_tokens_for_server(row.user_id, row.name);
        (void)store_.delete_oauth_client(client);
        return store_.finish_server_stop(row.id, row.version, cfg_.replica_id);
      };
      (void)co_await run_blocking(pool_, std::move(forget));
      std::lock_guard lock(mu_);
      live->state = ServerState::stopped;
      live->url.clear();
      live->row_id = 0;
      live->version = 0;
      live->finished = true;
      continue;
    }
    if (auto added = routes_.add(proxy::route_key_for_url_path(prefix), row.url,
                                 json::object{{"user", rec.user_name}, {"server_name", row.name}});
        !added) {
      log_.error("cannot route adopted server {}: {}", prefix, added.error().message);
      continue;
    }
    {
      std::lock_guard lock(mu_);
      live->routed_here = true;
      live->finished = true;
    }
    log_.info("adopted running server {} at {}", prefix, row.url);
  }
  co_await load_choices();
  // Servers without a record are looked for in the background: that needs the spawner's
  // backend (a Kubernetes list), which must not hold up the listeners. With a poll job, by
  // the replica that takes it (hub_app), not by each replica as it starts.
  if (!poll_job_held_) spawn_logged(ioc_, adopt_found(), log_, "looking for unrecorded servers");
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
    if (auto known = live_for(f.user, f.server_name); known && view(f.user, f.server_name).state != ServerState::stopped)
      continue;
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
    // Recorded through a claim, so that a start on another replica meanwhile wins or loses cleanly.
    auto record = [this, uid = user->id, f]() -> Result<store::ServerRow> {
      auto claim = store_.claim_server_start(uid, f.server_name, cfg_.replica_id, clock_.now() + cfg_.lease_ttl);
      if (!claim) return claim.error();
      if (!claim->won) return Error{Errc::conflict, "the server is already recorded"};
      auto row = claim->row;
      row.url = f.url;
      row.state = f.state;
      return store_.advance_server(row, claim->row.version);
    };
    auto row = co_await run_blocking(pool_, std::move(record));
    if (!row) {
      log_.info("not adopting the found server {}: {}", prefix, row.error().message);
      continue;
    }
    (void)spawner_.adopt(f.state);  // discover() states are the spawner's own
    log_.info("adopting server {} at {}, found running without a record", prefix, f.url);
    auto live = std::make_shared<Live>(ioc_);
    {
      std::lock_guard lock(mu_);
      (void)apply_row_locked(*live, store::OwnedServer{f.user, *row});
      live->driving = true;
      live->finished = false;
      live_[key(f.user, f.server_name)] = live;
      push_event(live, 50, "Waiting for the server to answer (found running after an nbhub restart)");
    }
    spawn_logged(ioc_, resume_spawn(live), log_, "waiting for server " + prefix);
  }
}

net::awaitable<void> ServerManager::take_over(std::shared_ptr<Live> live, bool force) {
  std::int64_t id = 0, version = 0;
  std::string user, server_name, old_driver;
  Clock::SysTime as_of = clock_.now();
  {
    std::lock_guard lock(mu_);
    if (live->driving || live->row_id == 0) co_return;
    id = live->row_id;
    version = live->version;
    user = live->user;
    server_name = live->server_name;
    old_driver = live->driver;
    if (force && live->lease_until && *live->lease_until > as_of) as_of = *live->lease_until;
  }
  auto prefix = prefix_for(user, server_name);
  auto take = [this, id, version, as_of]() {
    return store_.take_over_server(id, version, cfg_.replica_id, as_of, clock_.now() + cfg_.lease_ttl);
  };
  auto taken = co_await run_blocking(pool_, std::move(take));
  if (!taken) {
    log_.warn("taking over server {}: {}", prefix, taken.error().message);
    co_return;
  }
  if (!*taken) co_return;  // another replica was faster, or the driver came back
  ServerState state;
  {
    std::lock_guard lock(mu_);
    (void)apply_row_locked(*live, store::OwnedServer{user, **taken});
    live->driving = true;
    live->written = std::chrono::steady_clock::now();
    state = live->state;
  }
  if (!force)
    log_.info("took over server {} ({}) from replica {}, whose lease ran out", prefix, to_string(state),
              old_driver.empty() ? "(unknown)" : old_driver);
  if (state == ServerState::stopping) {
    co_await finish_stop(live);
    co_return;
  }
  // Pending: the spawn was under way. With an address, wait for the server; without one, the
  // spawner may have launched something: stop what the state names, and record the failure.
  json::object sstate;
  std::string url;
  {
    std::lock_guard lock(mu_);
    sstate = live->spawner_state;
    url = live->url;
    live->finished = false;
  }
  bool alive = false;
  if (!url.empty() && spawner_.adopt(sstate).has_value()) {
    auto status = co_await spawner_.poll(sstate);
    alive = !status.has_value();
  }
  if (!alive) {
    if (!sstate.empty()) (void)co_await spawner_.stop(sstate, true);
    std::string const why = "The hub replica that was starting this server stopped before the server answered; "
                            "start it again.";
    auto record = [this, live, why]() { record_failure(*live, why); };
    co_await run_blocking(pool_, std::move(record));
    std::lock_guard lock(mu_);
    live->state = ServerState::stopped;
    live->last_error = why;
    live->url.clear();
    live->driving = false;
    push_event(live, 100, "Spawn failed: " + why, false, true);
    co_return;
  }
  {
    std::lock_guard lock(mu_);
    push_event(live, 50, force ? "Waiting for the server to answer (adopted after an nbhub restart)"
                               : "Waiting for the server to answer (taken over by another hub replica)");
  }
  if (force) log_.info("adopted pending server {} at {}; waiting for it to answer", prefix, url);
  co_await resume_spawn(live);
}

net::awaitable<void> ServerManager::resume_spawn(std::shared_ptr<Live> live) {
  std::string user, server_name, url;
  json::object sstate;
  {
    std::lock_guard lock(mu_);
    user = live->user;
    server_name = live->server_name;
    url = live->url;
    sstate = live->spawner_state;
  }
  auto prefix = prefix_for(user, server_name);
  spawn::Started started{url, sstate};  // named: GCC 12 destroys temporaries in co_await twice
  auto ready = co_await queue_.await_ready(std::move(started), prefix);
  if (ready) {
    auto added = routes_.add(proxy::route_key_for_url_path(prefix), url,
                             json::object{{"user", user}, {"server_name", server_name}});
    if (added) {
      auto now = clock_.now();
      auto record = [this, live, now]() {
        return write_row(*live, [now](store::ServerRow& row) {
          row.pending.clear();
          row.started = now;
          row.lease_until.reset();
        });
      };
      if (auto r = co_await run_blocking(pool_, std::move(record)); !r)
        log_.warn("recording {} as running failed: {}", prefix, r.error().message);
      std::lock_guard lock(mu_);
      live->state = ServerState::ready;
      live->started = now;
      live->routed_here = true;
      live->driving = false;
      push_event(live, 100, "", true);
      log_.info("server {} ready at {}", prefix, url);
      co_return;
    }
    (void)co_await spawner_.stop(sstate, true);  // unroutable: never leave it running
    ready = added.error();
  }
  auto why = ready.error().message;
  auto forget = [this, live, why]() { record_failure(*live, why); };
  co_await run_blocking(pool_, std::move(forget));
  log_.warn("spawn of {} failed: {}", prefix, why);
  std::lock_guard lock(mu_);
  live->state = ServerState::stopped;
  live->last_error = why;
  live->url.clear();
  live->driving = false;
  push_event(live, 100, "Spawn failed: " + why, false, true);
}

std::size_t ServerManager::running_count() const {
  std::lock_guard lock(mu_);
  return active_locked();
}

net::awaitable<void> ServerManager::cull(std::chrono::seconds timeout, std::chrono::seconds max_age) {
  auto now = clock_.now();
  std::vector<std::pair<std::string, std::string>> victims;
  {
    std::lock_guard lock(mu_);
    for (auto const& [k, live] : live_) {
      if (live->state != ServerState::ready || !can_reach(live->driver)) continue;
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

net::awaitable<void> ServerManager::keep_leases() {
  net::steady_timer timer(co_await net::this_coro::executor);
  auto const every = std::max<std::chrono::milliseconds>(cfg_.lease_ttl / 3, std::chrono::milliseconds(100));
  for (;;) {
    timer.expires_after(every);
    boost::system::error_code ec;
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    std::vector<std::pair<std::int64_t, std::string>> mine;  // row id, prefix
    {
      std::lock_guard lock(mu_);
      for (auto const& [k, live] : live_)
        if (live->driving && live->row_id != 0) mine.emplace_back(live->row_id, prefix_for(live->user, live->server_name));
    }
    if (mine.empty()) continue;
    auto renew = [this, mine]() {
      for (auto const& [id, prefix] : mine) {
        auto r = store_.renew_server_lease(id, cfg_.replica_id, clock_.now() + cfg_.lease_ttl);
        if (!r) log_.warn("renewing the lease on server {}: {}", prefix, r.error().message);
        // false: the transition ended meanwhile, or another replica took it over (its next
        // write here then fails its compare-and-set and lets go).
      }
    };
    co_await run_blocking(pool_, std::move(renew));
  }
}

net::awaitable<void> ServerManager::check_all() {
  // Proxy activity → live servers and the store (only moves forward, as JupyterHub does).
  // Routes of other replicas' servers are route_sync's to flush.
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
      if (it == live_.end() || !it->second->routed_here) continue;
      if (!it->second->last_activity || *it->second->last_activity < a.last_activity) it->second->last_activity = a.last_activity;
      touched.emplace_back(it->second->user_id, server, a.last_activity);
    }
    std::lock_guard lock(mu_);
    activity_flushed_ = now;
  }
  if (!touched.empty()) {
    auto flush = [this, touched]() {
      for (auto const& [uid, server, ts] : touched)
        if (auto r = store_.touch_server_activity(uid, server, ts); !r && r.error().code != Errc::not_found)
          log_.warn("recording activity: {}", r.error().message);
    };
    co_await run_blocking(pool_, flush);
  }
  // Polling and takeovers are the poll job's: one replica at a time (docs/replicas.md).
  if (poll_job_held_ && !poll_job_held_()) co_return;

  std::vector<std::shared_ptr<Live>> ready, orphans;
  auto const now = clock_.now();
  {
    std::lock_guard lock(mu_);
    for (auto const& [k, live] : live_) {
      if (live->driving || !can_reach(live->driver)) continue;
      if (live->state == ServerState::ready) ready.push_back(live);
      else if ((live->state == ServerState::pending || live->state == ServerState::stopping) && live->row_id != 0 &&
               (!live->lease_until || *live->lease_until <= now))
        orphans.push_back(live);
    }
  }
  for (auto const& live : orphans) co_await take_over(live, false);
  for (auto const& live : ready) {
    json::object state;
    std::string user, server_name;
    bool adopt = false;
    {
      std::lock_guard lock(mu_);
      if (live->state != ServerState::ready || live->driving) continue;
      state = live->spawner_state;
      user = live->user;
      server_name = live->server_name;
      // Another replica started it: this spawner may not know it yet.
      adopt = !live->routed_here && !live->adopted;
      live->adopted = true;
    }
    if (adopt) (void)spawner_.adopt(state);  // an error shows in poll(), which then says it stopped
    auto const poll_t0 = std::chrono::steady_clock::now();
    auto status = co_await spawner_.poll(state);
    if (metrics_)
      metrics_->poll_finished(status ? PollStatus::stopped : PollStatus::running, std::chrono::steady_clock::now() - poll_t0);
    if (!status) continue;
    auto prefix = prefix_for(user, server_name);
    auto reason = co_await spawner_.exit_reason(state);
    log_.warn("server {} exited with status {}{}", prefix, *status, reason.empty() ? "" : ": " + reason);
    (void)co_await stop(user, server_name);
    std::lock_guard lock(mu_);
    live->last_error = fmt::format("Your server stopped unexpectedly (exit status {}){}", *status,
                                   reason.empty() ? "." : ": " + reason + ".");
  }
}

}  // namespace nbhub::hub
