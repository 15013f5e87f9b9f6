#include "proxy/route_table.hpp"

#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace nbhub::proxy {

namespace {

std::int64_t to_ms(Clock::SysTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::size_t depth(std::string_view prefix) {
  return prefix == "/" ? 0 : static_cast<std::size_t>(std::count(prefix.begin(), prefix.end(), '/'));
}

}  // namespace

Result<Target> parse_target(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return make_error(Errc::bad_request, fmt::format("target '{}': {}", url, why));
  };
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return bad("not an absolute URL");
  if (u->scheme() != "http")
    return bad("only http:// targets are proxied (https and http+unix are not supported yet)");
  if (u->has_userinfo()) return bad("credentials in the URL are not supported");
  Target t;
  t.url = std::string(url);
  t.host = std::string(u->host_address());  // IPv6 without brackets
  if (t.host.empty()) return bad("no host");
  if (u->has_port()) {
    auto p = u->port();
    unsigned v = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc() || end != p.data() + p.size() || v == 0 || v > 65535) return bad("bad port");
    t.port = static_cast<std::uint16_t>(v);
  }
  t.path = std::string(u->encoded_path());
  while (!t.path.empty() && t.path.back() == '/') t.path.pop_back();
  if (!t.path.empty() && t.path.front() != '/') t.path = fmt::format("/{}", t.path);
  t.key = fmt::format("{}:{}", t.host, t.port);
  return t;
}

std::string normalize_prefix(std::string_view prefix) {
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  std::string out;
  out.reserve(prefix.size() + 1);
  if (prefix.empty() || prefix.front() != '/') out.push_back('/');
  out.append(prefix.data(), prefix.size());
  return out;
}

void percent_decode(std::string_view in, std::string& out) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    int hi, lo;
    if (in[i] == '%' && i + 2 < in.size() && (hi = hex(in[i + 1])) >= 0 && (lo = hex(in[i + 2])) >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(in[i]);  // a stray '%' stays as it is
    }
  }
}

std::string route_key_for_url_path(std::string_view encoded_path) {
  std::string decoded;
  percent_decode(encoded_path, decoded);
  return normalize_prefix(decoded);
}

Route::Route(std::string prefix, Target target, boost::json::object data, Clock::SysTime added)
    : prefix_(std::move(prefix)),
      target_(std::move(target)),
      data_(std::move(data)),
      last_activity_ms_(to_ms(added)) {}

void Route::touch(Clock::SysTime now) const noexcept {
  auto ms = to_ms(now);
  // At most one store per second per route: busy routes are touched by every request on
  // every thread, and a shared cache line written at that rate would cost more than the
  // precision is worth (the hub flushes activity every few minutes).
  if (ms - last_activity_ms_.load(std::memory_order_relaxed) >= 1000)
    last_activity_ms_.store(ms, std::memory_order_relaxed);
}

Clock::SysTime Route::last_activity() const noexcept {
  return Clock::SysTime(std::chrono::milliseconds(last_activity_ms_.load(std::memory_order_relaxed)));
}

Route const* RouteTable::Snapshot::lookup(std::string_view key) const noexcept {
  auto const& shard = *shards_[shard_of(key)];
  auto it = shard.find(key);
  return it == shard.end() ? nullptr : it->second.get();
}

Route const* RouteTable::Snapshot::find(std::string_view path) const noexcept {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (!path.empty() && path.front() == '/' && max_depth_ > 0) {
    // Cut the path to the deepest prefix any route has, then shorten it one segment at a
    // time: a handful of hash lookups whatever the path's length.
    std::size_t seen = 0;
    for (std::size_t i = 0; i < path.size(); ++i) {
      if (path[i] == '/' && ++seen > max_depth_) {
        path = path.substr(0, i);
        break;
      }
    }
    for (;;) {
      if (auto const* r = lookup(path)) return r;
      auto cut = path.rfind('/');
      if (cut == 0 || cut == std::string_view::npos) break;
      path = path.substr(0, cut);
    }
  }
  return default_;
}

RoutePtr RouteTable::Snapshot::find_shared(std::string_view path) const {
  auto r = find(path);
  return r ? get(r->prefix()) : nullptr;
}

RoutePtr RouteTable::Snapshot::get(std::string_view normalized_prefix) const {
  auto const& shard = *shards_[shard_of(normalized_prefix)];
  auto it = shard.find(normalized_prefix);
  return it == shard.end() ? nullptr : it->second;
}

std::vector<RoutePtr> RouteTable::Snapshot::routes() const {
  std::vector<RoutePtr> out;
  out.reserve(size_);
  for (auto const& shard : shards_)
    for (auto const& [k, r] : *shard) out.push_back(r);
  std::sort(out.begin(), out.end(), [](auto const& a, auto const& b) { return a->prefix() < b->prefix(); });
  return out;
}

RouteTable::RouteTable(Clock const& clock) : clock_(clock), current_(std::make_shared<Snapshot const>()) {}

RouteTable::Snapshot::Snapshot() {
  // One empty shard shared by every slot until a route lands in it.
  auto empty = std::make_shared<Shard const>();
  shards_.fill(empty);
}

Result<RoutePtr> RouteTable::add(std::string_view prefix, std::string_view target_url,
                                 boost::json::object data, UnrelayableTarget unrelayable) {
  auto target = parse_target(target_url);
  if (!target) {
    if (unrelayable == UnrelayableTarget::refuse) return target.error();
    auto why = std::move(target.error().message);
    target = Target{.url = std::string(target_url), .unrelayable = std::move(why)};
  }
  auto key = normalize_prefix(prefix);
  RoutePtr route = std::make_shared<Route>(key, std::move(*target), std::move(data), clock_.now());
  auto const d = depth(key);
  std::lock_guard lock(write_mu_);
  auto next = std::make_shared<Snapshot>(*current_.load(std::memory_order_acquire));
  auto& slot = next->shards_[Snapshot::shard_of(key)];
  auto shard = std::make_shared<Snapshot::Shard>(*slot);
  bool const inserted = shard->insert_or_assign(std::move(key), route).second;
  slot = std::move(shard);
  if (inserted) {
    ++next->size_;
    if (next->depth_counts_.size() <= d) next->depth_counts_.resize(d + 1);
    ++next->depth_counts_[d];
    next->max_depth_ = std::max(next->max_depth_, d);
  }
  if (route->is_default()) next->default_ = route.get();
  current_.store(std::move(next), std::memory_order_release);
  if (observer_) observer_->route_added(route);
  return route;
}

void RouteTable::set_observer(RouteObserver* observer) {
  std::lock_guard lock(write_mu_);
  observer_ = observer;
}

bool RouteTable::remove(std::string_view prefix) {
  auto key = normalize_prefix(prefix);
  std::lock_guard lock(write_mu_);
  auto cur = current_.load(std::memory_order_acquire);
  auto const s = Snapshot::shard_of(key);
  if (cur->shards_[s]->find(key) == cur->shards_[s]->end()) return false;
  auto next = std::make_shared<Snapshot>(*cur);
  auto shard = std::make_shared<Snapshot::Shard>(*cur->shards_[s]);
  shard->erase(shard->find(key));
  next->shards_[s] = std::move(shard);
  --next->size_;
  --next->depth_counts_[depth(key)];
  while (next->max_depth_ > 0 && next->depth_counts_[next->max_depth_] == 0) --next->max_depth_;
  if (key == "/") next->default_ = nullptr;
  current_.store(std::move(next), std::memory_order_release);
  if (observer_) observer_->route_removed(key);
  return true;
}

RoutePtr RouteTable::get(std::string_view prefix) const { return snapshot()->get(normalize_prefix(prefix)); }

std::vector<RouteActivity> RouteTable::activity_since(Clock::SysTime since) const {
  std::vector<RouteActivity> out;
  for (auto const& r : snapshot()->routes()) {
    auto t = r->last_activity();
    if (t > since) out.push_back({r->prefix(), r->data(), t});
  }
  return out;
}

std::vector<RoutePtr> RouteTable::inactive_since(Clock::SysTime before) const {
  auto all = snapshot()->routes();
  std::erase_if(all, [&](RoutePtr const& r) { return !(r->last_activity() < before); });
  return all;
}

}  // namespace nbhub::proxy
