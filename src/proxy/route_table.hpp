#pragma once
// The proxy's routing table, CHP-style (spec/jupyterhub-contract.md §5.3, §6.2): a path prefix
// maps to a target URL plus free-form data ({"user": "alice", "server_name": ""}), and a
// request goes to the route whose prefix is the longest match *by path segment*:
// "/user/alice" matches "/user/alice/lab" but not "/user/alicex". "/" is the default route.
//
// Concurrency. Readers take an immutable snapshot (`snapshot()`: one atomic shared_ptr load)
// and may keep it across co_awaits; writers (`add`, `remove`, from any thread) copy the one
// shard of the table the prefix falls in (kShards of them, by hash), change the copy and
// publish a snapshot sharing the other shards. Copying the whole table made each add O(n):
// 100,000 routes through the CHP API took minutes (bench/stress). A `Route` object is shared
// by every snapshot that contains it, so its activity timestamp (an atomic) survives table
// swaps; replacing a route makes a new object (as CHP, the new route's activity starts at
// "now").
//
// Paths are compared *decoded* (CHP decodes both the route key and the request path), so
// callers percent-decode request paths before `find`.
#include <boost/json/object.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace nbhub::proxy {

// Where a route sends requests: http://host[:port][/path]. https and http+unix targets are
// not relayed yet: the hub's own routes refuse them, while the CHP REST API stores them (as
// CHP stores any string) with `unrelayable` saying why requests on them get 502.
struct Target {
  std::string url;   // as given
  std::string host;  // without IPv6 brackets
  std::uint16_t port = 80;
  std::string path;  // "" or "/base" (no trailing slash): prepended to forwarded paths
  std::string key;   // "host:port", the upstream pool's key
  std::string unrelayable;  // "" for a target the proxy relays to; else why not (and the rest is empty)
};

// Errc::bad_request with a message naming the URL when it cannot be a target.
Result<Target> parse_target(std::string_view url);

// What RouteTable::add does with a target that parse_target refuses.
enum class UnrelayableTarget {
  refuse,  // the hub's routes: an error for the caller
  store,   // the CHP REST API: CHP stores any target string, so a client that registers one
           // (JupyterHub's test suite adds https://localhost:1234) gets 201 and sees it listed;
           // requests on that route are answered 502
};

// "/" + prefix without trailing slashes ("" and "/" are the default route "/"). Used for
// route keys on add/remove/get; CHP's cleanPath.
std::string normalize_prefix(std::string_view prefix);

// The route key for a URL path as it appears in URLs, percent-encoded ("/user/alice%40x.org/"
// -> "/user/alice@x.org"): keys are compared with decoded request paths, so whoever builds a
// prefix from escaped parts (the hub's /user/<escaped name>/) adds it through this, as CHP
// decodes the path of POST /api/routes/<path>.
std::string route_key_for_url_path(std::string_view encoded_path);

// %XX escapes decoded into `out` (replacing its content); a '%' that starts no escape is kept.
void percent_decode(std::string_view in, std::string& out);

class Route : public std::enable_shared_from_this<Route> {
 public:
  Route(std::string prefix, Target target, boost::json::object data, Clock::SysTime added);

  std::string const& prefix() const noexcept { return prefix_; }
  Target const& target() const noexcept { return target_; }
  boost::json::object const& data() const noexcept { return data_; }  // no target/last_activity
  bool is_default() const noexcept { return prefix_ == "/"; }

  // Hot path, any thread: records activity at `now`. Stores at most once per second (a
  // relaxed load otherwise), and only moves forward.
  void touch(Clock::SysTime now) const noexcept;
  Clock::SysTime last_activity() const noexcept;

 private:
  std::string prefix_;
  Target target_;
  boost::json::object data_;
  mutable std::atomic<std::int64_t> last_activity_ms_;
};

using RoutePtr = std::shared_ptr<Route const>;

struct RouteActivity {
  std::string prefix;
  boost::json::object data;
  Clock::SysTime last_activity;
};

// Told of every change to a RouteTable, in the order the changes were published (an external
// proxy mirrors the table this way: proxy/chp_client.hpp). Called on the writer's thread while
// the table's write lock is held: implementations only record or post the change, never block
// or call back into the table.
class RouteObserver {
 public:
  virtual ~RouteObserver() = default;
  virtual void route_added(RoutePtr const& route) = 0;
  virtual void route_removed(std::string const& prefix) = 0;
};

class RouteTable {
 public:
  // One immutable version of the table.
  class Snapshot {
   public:
    Snapshot();  // empty
    // Longest prefix match by segment for a decoded path ("/user/alice/lab?x" must already
    // be cut at '?'); falls back to "/" when present; nullptr when nothing matches. The
    // pointer lives as long as this snapshot.
    Route const* find(std::string_view path) const noexcept;
    RoutePtr find_shared(std::string_view path) const;
    RoutePtr get(std::string_view normalized_prefix) const;  // exact key
    std::size_t size() const noexcept { return size_; }
    std::vector<RoutePtr> routes() const;  // sorted by prefix

    // A writer copies one shard: 1/kShards of the table per add or remove.
    static constexpr std::size_t kShards = 256;

   private:
    friend class RouteTable;
    struct Hash {
      using is_transparent = void;
      std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    using Shard = std::unordered_map<std::string, RoutePtr, Hash, std::equal_to<>>;
    static std::size_t shard_of(std::string_view key) noexcept { return Hash{}(key) % kShards; }
    Route const* lookup(std::string_view key) const noexcept;

    std::array<std::shared_ptr<Shard const>, kShards> shards_;  // never null
    std::size_t size_ = 0;
    // Routes per prefix depth (segments): the deepest non-zero one is max_depth_, kept
    // without a walk over the table when a route goes.
    std::vector<std::size_t> depth_counts_;
    std::size_t max_depth_ = 0;  // most segments in any prefix: longer paths are cut first
    Route const* default_ = nullptr;
  };
  using SnapshotPtr = std::shared_ptr<Snapshot const>;

  // `clock` stamps activity; it must outlive the table and be safe to call from any thread.
  explicit RouteTable(Clock const& clock);

  // Adds or replaces the route for `prefix` (normalised). Errors: Errc::bad_request for a
  // target parse_target refuses, unless `unrelayable` says to store it. Any thread.
  Result<RoutePtr> add(std::string_view prefix, std::string_view target_url, boost::json::object data,
                       UnrelayableTarget unrelayable = UnrelayableTarget::refuse);
  // False when there was no such route. Tunnels already open on it carry on; new requests
  // no longer match it. Any thread.
  bool remove(std::string_view prefix);

  SnapshotPtr snapshot() const noexcept { return current_.load(std::memory_order_acquire); }
  RoutePtr get(std::string_view prefix) const;  // normalised, exact
  // Routes with activity strictly after `since` (what the hub flushes to its store), and
  // routes without activity since `before` (CHP's ?inactive_since=).
  std::vector<RouteActivity> activity_since(Clock::SysTime since) const;
  std::vector<RoutePtr> inactive_since(Clock::SysTime before) const;
  Clock const& clock() const noexcept { return clock_; }

  // At most one observer; nullptr removes it. It must outlive the table or be removed first.
  void set_observer(RouteObserver* observer);

 private:
  Clock const& clock_;
  std::mutex write_mu_;  // serialises writers; readers never take it
  RouteObserver* observer_ = nullptr;  // GUARDED_BY(write_mu_)
  std::atomic<SnapshotPtr> current_;
};

}  // namespace nbhub::proxy
