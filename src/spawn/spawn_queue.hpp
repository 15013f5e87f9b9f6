#pragma once
// SpawnQueue: one spawn from request to answering server, under the hub's spawn limits. It
// runs what JupyterHub's User.spawn does around the Spawner: start() within start_timeout,
// wait_until_ready() within http_timeout, and stop(now) when either fails, so a failed spawn
// leaves no process behind.
//
// Limits (spawner_config.hpp):
//  * concurrent_spawn_limit: spawns in progress (start + readiness) at once. Unlike JupyterHub,
//    which answers 429 beyond it, further spawns wait in a FIFO queue and are told "Waiting for
//    N spawns ahead of you"; time in the queue does not count against start_timeout or
//    http_timeout. The spawner's own Spawner::start_limit() lowers it (LocalSpawner: twice the
//    CPU cores), so that a burst of spawns on one machine ends with all servers up rather than
//    all of them past http_timeout.
//  * active_server_limit: running servers (the hub's count) plus spawns in this queue. Beyond
//    it a spawn is refused with Errc::unavailable "the hub is at its limit of N running
//    servers; try again later". JupyterHub answers 429 there: the API layer should check
//    at_active_limit() first and answer 429 with Retry-After. The count is approximate by one
//    spawn that has just finished and is not yet counted as running, as in JupyterHub.
//
// Thread-safety: spawn() may be called concurrently from any executor; counters and the FIFO
// are guarded by a mutex and waiters are woken through channels on their own executors. The
// queue, spawner and HTTP client must outlive every spawn() in flight (and the clean-up of a
// cancelled one).
#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "http/client.hpp"
#include "spawn/readiness.hpp"
#include "spawn/spawner.hpp"
#include "spawn/spawner_config.hpp"

namespace spdlog { class logger; }

namespace nbhub::spawn {

struct ReadyServer {
  Started started;     // url and state; the state was also given to ProgressSink::started()
  ServerReady ready;   // status and X-JupyterHub-Version of the first answer
};

class SpawnQueue {
 public:
  // `running_servers` returns how many servers are up (ready) right now, not counting spawns in
  // this queue; it is called without the queue's lock held and must be thread-safe.
  SpawnQueue(SpawnerConfig const& cfg, Spawner& spawner, http::HttpClient& http,
             Clock const& clock, spdlog::logger& log,
             std::function<std::size_t()> running_servers);
  ~SpawnQueue();
  SpawnQueue(SpawnQueue const&) = delete;
  SpawnQueue& operator=(SpawnQueue const&) = delete;

  // Progress goes to `sink` (which must outlive the call): the queue position, the spawner's
  // own events, "Waiting for the server to answer"; sink.started() as soon as start() returned.
  // Errors: Errc::unavailable for the active limit, "did not start within start_timeout",
  // the readiness errors (readiness.hpp), and the spawner's own start() errors.
  // Cancellation by the caller ends the wait; a started server is then stopped in the
  // background (its failure is logged).
  net::awaitable<Result<ReadyServer>> spawn(SpawnRequest req, ProgressSink& sink);

  // After an nbhub restart: waits until a server that a previous nbhub started (but had not
  // seen answer) answers at started.url + prefix, within http_timeout from now; stops it when it
  // does not. No slot is taken: the process runs already.
  net::awaitable<Result<ReadyServer>> await_ready(Started started, std::string prefix);

  // A configuration reload (docs/operations.md): spawn limits and timeouts from now on. Spawns
  // already holding a slot keep their timeouts; a higher concurrent_spawn_limit lets waiters
  // in at once, a lower one takes effect as slots are released. Call it after the spawner got
  // its new settings (its start_limit() is read here).
  void set_limits(SpawnerConfig const& cfg);

  bool at_active_limit() const;
  std::size_t active_limit() const { return limits().active; }  // 0: no limit
  std::size_t spawning() const;  // holding a slot: starting or waiting for readiness
  std::size_t queued() const;    // waiting for a slot

 private:
  struct Waiter;
  net::awaitable<Result<void>> acquire_slot(ProgressSink& sink);
  void release_slot();
  void notify_waiters_locked();
  net::awaitable<Result<Started>> start_within_timeout(SpawnRequest req, ProgressSink& sink,
                                                       std::chrono::milliseconds start_timeout);

  struct Limits {
    std::size_t spawn = 0;   // concurrent spawns, lowered by the spawner's start_limit(); 0: none
    std::size_t active = 0;  // running + spawning servers; 0: none
    std::chrono::milliseconds start_timeout{0};
    ReadinessPolicy readiness;
  };
  Limits limits_for(SpawnerConfig const& cfg) const;
  Limits limits() const;

  Spawner& spawner_;
  http::HttpClient& http_;
  Clock const& clock_;
  spdlog::logger& log_;
  std::function<std::size_t()> running_servers_;

  mutable std::mutex mu_;
  Limits limits_;                                // guarded by mu_
  std::size_t spawning_ = 0;                     // guarded by mu_
  std::size_t in_flight_ = 0;                    // guarded by mu_: queued + spawning
  std::deque<std::shared_ptr<Waiter>> waiting_;  // guarded by mu_; FIFO
};

}  // namespace nbhub::spawn
