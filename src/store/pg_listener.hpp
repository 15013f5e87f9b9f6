#pragma once
// LISTEN/NOTIFY for replicas (docs/replicas.md): one dedicated PostgreSQL connection, outside
// the store's pool, on a thread of its own, that LISTENs on some channels and hands every
// notification to a callback. Notifications sent while the connection is down are lost, so
// after every (re)connection, once the LISTENs are in place, `on_resync` runs: the caller
// rebuilds whatever the notifications keep up to date from the rows (a full resync). LISTEN
// first, then resync: a change committed in between is seen by both, never by neither.
//
// A lost connection (server restart, network cut; an idle connection is pinged every
// `ping_every` so a silent cut is noticed) is reopened with a backoff from `retry_min` doubling
// to `retry_max`, for as long as the listener lives.
//
// Callbacks run on the listener's thread, one at a time, and must not block for long (post
// the work elsewhere). Thread-safety: connected() and counters from any thread; the destructor
// stops the thread and waits for it.
#include "core/result.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace nbhub::store {

class PgListener {
 public:
  struct Options {
    std::string url;  // libpq URL (may hold a password: never logged)
    std::vector<std::string> channels;  // plain identifiers ([a-z0-9_]); checked by start()
    std::chrono::milliseconds retry_min{100};
    std::chrono::milliseconds retry_max{5000};
    std::chrono::milliseconds ping_every{5000};
    std::chrono::milliseconds connect_timeout{5000};
  };
  using OnNotify = std::function<void(std::string_view channel, std::string_view payload)>;
  using OnResync = std::function<void()>;
  // What went wrong with the connection, for the log (the URL without its password).
  using OnTrouble = std::function<void(std::string_view message)>;

  // Starts the thread; it connects in the background (the first on_resync says it is in
  // place). Errors: bad_request for a channel name that is not a plain identifier.
  static Result<std::unique_ptr<PgListener>> start(Options options, OnNotify on_notify, OnResync on_resync,
                                                   OnTrouble on_trouble = {});
  ~PgListener();
  PgListener(PgListener const&) = delete;
  PgListener& operator=(PgListener const&) = delete;

  bool connected() const { return connected_.load(); }
  std::uint64_t connections() const { return connections_.load(); }  // successful (re)connections
  std::uint64_t notifications() const { return notifications_.load(); }

 private:
  PgListener(Options options, OnNotify on_notify, OnResync on_resync, OnTrouble on_trouble);
  void run();
  bool sleep_for(std::chrono::milliseconds d);  // false when stopping

  Options options_;
  std::string display_;
  OnNotify on_notify_;
  OnResync on_resync_;
  OnTrouble on_trouble_;
  int wake_fd_ = -1;  // eventfd: the destructor wakes the thread
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> connections_{0};
  std::atomic<std::uint64_t> notifications_{0};
  std::thread thread_;
};

}  // namespace nbhub::store
