#include "spawn/kube_reflector.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/logger.h>

namespace nbhub::spawn::kube {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string meta(json::object const& o, std::string_view key) {
  auto m = o.if_contains("metadata");
  if (!m || !m->is_object()) return "";
  auto v = m->as_object().if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::shared_ptr<Reflector> Reflector::create(KubeApi& api, ReflectorOptions opts,
                                             spdlog::logger& log) {
  return std::shared_ptr<Reflector>(new Reflector(api, std::move(opts), log));
}

Reflector::Reflector(KubeApi& api, ReflectorOptions opts, spdlog::logger& log)
    : api_(api), opts_(std::move(opts)), log_(log) {}

Reflector::~Reflector() { stop(); }

void Reflector::start(net::any_io_executor ex) {
  net::co_spawn(ex, [self = shared_from_this()]() { return self->run(); },
                [self = shared_from_this()](std::exception_ptr e) {
                  if (!e) return;
                  try {
                    std::rethrow_exception(e);
                  } catch (std::exception const& ex) {
                    self->log_.error("kubernetes: the watch of {} ended by an exception: {}",
                                     self->opts_.what, ex.what());
                  }
                });
}

void Reflector::stop() {
  if (stopped_.exchange(true)) return;
  cancel_->cancel();
}

bool Reflector::synced() const {
  std::lock_guard lock(mu_);
  return synced_;
}

std::optional<json::object> Reflector::get(std::string const& name) const {
  std::lock_guard lock(mu_);
  auto it = objects_.find(name);
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

std::vector<json::object> Reflector::items() const {
  std::lock_guard lock(mu_);
  std::vector<json::object> out;
  out.reserve(objects_.size());
  for (auto const& [k, v] : objects_) out.push_back(v);
  return out;
}

std::uint64_t Reflector::version() const {
  std::lock_guard lock(mu_);
  return version_;
}

Reflector::Stats Reflector::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Reflector::notify() {
  std::vector<std::shared_ptr<net::steady_timer>> wake;
  {
    std::lock_guard lock(mu_);
    ++version_;
    for (auto& w : waiters_)
      if (auto t = w.lock()) wake.push_back(std::move(t));
    waiters_.clear();
  }
  // Each waiter's timer is cancelled on its own executor (timers are not thread-safe).
  for (auto& t : wake) net::post(t->get_executor(), [t] { t->cancel(); });
}

net::awaitable<std::uint64_t> Reflector::wait_change(std::uint64_t seen, SteadyTime deadline) {
  auto timer = std::make_shared<net::steady_timer>(co_await net::this_coro::executor);
  {
    std::lock_guard lock(mu_);
    if (version_ > seen) co_return version_;
    waiters_.push_back(timer);
  }
  // A cancel posted before the wait began would be lost: never sleep long without looking.
  timer->expires_at(std::min(deadline, std::chrono::steady_clock::now() + 250ms));
  boost::system::error_code ec;
  co_await timer->async_wait(net::redirect_error(net::use_awaitable, ec));
  co_return version();
}

net::awaitable<bool> Reflector::wait_synced(SteadyTime deadline) {
  auto seen = version();
  while (!synced() && std::chrono::steady_clock::now() < deadline)
    seen = co_await wait_change(seen, deadline);
  co_return synced();
}

std::string Reflector::query(bool watch, std::string const& rv) const {
  std::string q = "?";
  if (watch) q += "allowWatchBookmarks=true&";
  if (!opts_.field_selector.empty()) q += "fieldSelector=" + query_escape(opts_.field_selector) + "&";
  if (!opts_.label_selector.empty()) q += "labelSelector=" + query_escape(opts_.label_selector) + "&";
  if (!rv.empty()) q += "resourceVersion=" + query_escape(rv) + "&";
  if (watch) q += "timeoutSeconds=" + std::to_string(opts_.watch_timeout.count()) + "&watch=true";
  if (q.back() == '&' || q.back() == '?') q.pop_back();
  return q;
}

void Reflector::apply(WatchEvent const& ev) {
  auto name = meta(ev.object, "name");
  auto rv = meta(ev.object, "resourceVersion");
  if (!rv.empty()) rv_ = rv;
  if (ev.type == "BOOKMARK" || name.empty()) return;
  if (ev.type == "DELETED")
    objects_.erase(name);
  else
    objects_[name] = ev.object;
}

net::awaitable<void> Reflector::fail_and_wait(std::string why) {
  {
    std::lock_guard lock(mu_);
    ++stats_.errors;
  }
  log_.warn("kubernetes: {}: {}; retrying in {} ms", opts_.what, why, backoff_.count());
  net::steady_timer pause(co_await net::this_coro::executor, backoff_);
  backoff_ = std::min<std::chrono::milliseconds>(backoff_ * 2, 30s);
  boost::system::error_code ec;
  co_await pause.async_wait(net::redirect_error(net::use_awaitable, ec));
}

net::awaitable<void> Reflector::run() {
  bool first_list = true;
  while (!stopped_) {
    std::string rv;
    {
      std::lock_guard lock(mu_);
      rv = rv_;
    }
    if (rv.empty()) {
      // The first LIST is a consistent read; relists after a 410 may come from the API
      // server's watch cache (resourceVersion=0), which spares etcd.
      auto r = co_await api_.call("GET", opts_.path + query(false, first_list ? "" : "0"));
      if (stopped_) break;
      if (!r) { co_await fail_and_wait("list failed: " + r.error().message); continue; }
      if (!r->ok() || !r->body.is_object()) {
        co_await fail_and_wait(KubeApi::describe("list " + opts_.path, *r));
        continue;
      }
      auto const& body = r->body.as_object();
      std::map<std::string, json::object> fresh;
      if (auto items = body.if_contains("items"); items && items->is_array())
        for (auto const& it : items->as_array())
          if (it.is_object())
            if (auto n = meta(it.as_object(), "name"); !n.empty()) fresh[n] = it.as_object();
      {
        std::lock_guard lock(mu_);
        objects_ = std::move(fresh);
        rv_ = meta(body, "resourceVersion");
        synced_ = true;
        ++stats_.lists;
        rv = rv_;
      }
      first_list = false;
      notify();
      if (hook_) hook_("RELISTED", json::object{});
      if (rv.empty()) { co_await fail_and_wait("the list carried no resourceVersion"); continue; }
    }

    bool gone = false;
    std::string watch_error;
    {
      std::lock_guard lock(mu_);
      ++stats_.watches;
    }
    bool heard = false;
    auto on_event = [this, &gone, &watch_error, &heard](WatchEvent&& ev) {
      heard = true;
      if (ev.type == "ERROR") {
        auto code = ev.object.if_contains("code");
        if (code && code->is_int64() && code->as_int64() == 410) gone = true;
        else if (auto m = ev.object.if_contains("message"); m && m->is_string())
          watch_error = std::string(m->as_string());
        else
          watch_error = "an ERROR event";
        return false;
      }
      {
        std::lock_guard lock(mu_);
        apply(ev);
      }
      if (ev.type != "BOOKMARK") {
        notify();
        if (hook_) hook_(ev.type, ev.object);
      }
      return !stopped_.load();
    };
    auto r = co_await api_.watch(opts_.path + query(true, rv), on_event, opts_.watch_timeout,
                                 opts_.stall_timeout, cancel_);
    if (stopped_) break;
    if (heard) backoff_ = 100ms;  // the watch worked for a while: a later failure starts over
    if (!r) { co_await fail_and_wait(r.error().message); continue; }
    if (r->status == 410 || gone) {
      // Our resourceVersion is older than the server's history: start over from a list.
      log_.info("kubernetes: {}: resourceVersion {} expired (410); listing again", opts_.what, rv);
      std::lock_guard lock(mu_);
      rv_.clear();
      ++stats_.relists_after_410;
      continue;
    }
    if (!r->ok()) { co_await fail_and_wait(KubeApi::describe("watch " + opts_.path, *r)); continue; }
    if (!watch_error.empty()) { co_await fail_and_wait("watch error: " + watch_error); continue; }
    backoff_ = 100ms;  // a clean end at timeoutSeconds: resume from rv, no relist
  }
  log_.debug("kubernetes: stopped watching {}", opts_.what);
}

}  // namespace nbhub::spawn::kube
