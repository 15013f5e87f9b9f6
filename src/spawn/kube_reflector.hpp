#pragma once
// Reflector: a local copy of one collection (the namespace's user pods; the events of one pod
// while it spawns), kept by one LIST and then long WATCHes resumed by resourceVersion, the
// pattern of client-go's reflector, without KubeSpawner's pains (spec kubernetes.md §2.2, §4):
//
//  * one long watch (timeoutSeconds = watch_timeout, 300 s), resumed from the last
//    resourceVersion when the server ends it: no relist when idle;
//  * bookmarks asked for (allowWatchBookmarks=true) keep that resourceVersion fresh;
//  * a relist only on 410 Gone, and then from the API server's cache (resourceVersion=0);
//  * a watch silent for watch_stall_timeout (no event, no bookmark) is reopened, and API
//    errors back off 0.1 s doubling to 30 s, forever: the copy never freezes silently;
//  * waiters are woken on every change (wait_change), so a spawn sees its pod at once.
//
// Thread-safety: every method may be called from any thread. The watch loop runs on the
// executor given to start(); the cache is guarded by a mutex.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "spawn/kube_api.hpp"

namespace spdlog { class logger; }

namespace nbhub::spawn::kube {

struct ReflectorOptions {
  std::string what;            // for logs: "pods", "events of jupyter-alice"
  std::string path;            // the collection: /api/v1/namespaces/jhub/pods
  std::string label_selector;  // "component=singleuser-server"
  std::string field_selector;  // "involvedObject.kind=Pod,involvedObject.name=jupyter-alice"
  std::chrono::seconds watch_timeout{300};
  std::chrono::seconds stall_timeout{150};
};

class Reflector : public std::enable_shared_from_this<Reflector> {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  // `api` and `log` must outlive the reflector's loop (stop() ends it; the spawner that owns
  // both stops its reflectors in its destructor).
  static std::shared_ptr<Reflector> create(KubeApi& api, ReflectorOptions opts,
                                           spdlog::logger& log);
  ~Reflector();

  // Called after each change is applied (type ADDED/MODIFIED/DELETED, or RELISTED after a
  // list with an empty object), on the loop's executor, without the cache's lock. Set it
  // before start().
  using EventHook = std::function<void(std::string const& type, boost::json::object const& object)>;
  void set_on_event(EventHook hook) { hook_ = std::move(hook); }

  void start(net::any_io_executor ex);  // once
  void stop();                          // ends the loop soon; idempotent

  bool synced() const;  // the first LIST has arrived
  std::optional<boost::json::object> get(std::string const& name) const;
  std::vector<boost::json::object> items() const;
  std::uint64_t version() const;  // counts changes to the copy

  // Completes when version() > seen, or at `deadline` (also a little early, at most 250 ms
  // late after a change it missed). Returns the version then.
  net::awaitable<std::uint64_t> wait_change(std::uint64_t seen, SteadyTime deadline);
  // Completes once synced() or at `deadline`; returns synced().
  net::awaitable<bool> wait_synced(SteadyTime deadline);

  struct Stats {
    std::uint64_t lists = 0, watches = 0, relists_after_410 = 0, errors = 0;
  };
  Stats stats() const;

 private:
  Reflector(KubeApi& api, ReflectorOptions opts, spdlog::logger& log);
  net::awaitable<void> run();
  net::awaitable<void> fail_and_wait(std::string why);  // logs, then backs off
  void apply(WatchEvent const& ev);  // requires mu_
  void notify();                     // requires mu_ not held
  std::string query(bool watch, std::string const& rv) const;

  KubeApi& api_;
  ReflectorOptions const opts_;
  spdlog::logger& log_;
  std::shared_ptr<http::StreamCancel> cancel_ = std::make_shared<http::StreamCancel>();
  std::atomic<bool> stopped_{false};
  EventHook hook_;  // set before start(), then only read
  std::chrono::milliseconds backoff_{100};  // only the loop touches it

  mutable std::mutex mu_;
  std::map<std::string, boost::json::object> objects_;        // GUARDED_BY(mu_), by name
  std::string rv_;                                            // GUARDED_BY(mu_)
  bool synced_ = false;                                       // GUARDED_BY(mu_)
  std::uint64_t version_ = 0;                                 // GUARDED_BY(mu_)
  std::vector<std::weak_ptr<net::steady_timer>> waiters_;     // GUARDED_BY(mu_)
  Stats stats_;                                               // GUARDED_BY(mu_)
};

// metadata.<key> of an object, or "".
std::string meta(boost::json::object const& o, std::string_view key);

}  // namespace nbhub::spawn::kube
