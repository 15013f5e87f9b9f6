#include "spawn/kube_spawner.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/logger.h>

#include <algorithm>
#include <set>

#include "spawn/readiness.hpp"  // describe_duration
#include "spawn/spawn_env.hpp"

namespace nbhub::spawn::kube {

namespace json = boost::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

bool cancelled(net::cancellation_state const& cs) { return cs.cancelled() != net::cancellation_type::none; }

}  // namespace

std::chrono::seconds KubeSpawner::overall_start_timeout(KubeConfig const& k) {
  return k.schedule_timeout + k.image_pull_timeout + k.start_timeout + 30s;
}


KubeSpawner::KubeSpawner(SpawnerConfig cfg, KubeConfig kube, http::HttpClient& http,
                         net::any_io_executor ex, spdlog::logger& log)
    : kube_(std::move(kube)), settings_(Settings{std::move(cfg), kube_}), api_(kube_.api, http, kube_.request_timeout, log),
      ex_(std::move(ex)), log_(log), first_sync_deadline_(SteadyClock::now() + kube_.request_timeout * 3) {
  ReflectorOptions o;
  o.what = "pods in namespace " + kube_.namespace_;
  o.path = core_path(kube_.namespace_, "pods");
  o.label_selector = "component=" + kube_.component_label;
  o.watch_timeout = kube_.watch_timeout;
  o.stall_timeout = kube_.watch_stall_timeout;
  pods_ = Reflector::create(api_, std::move(o), log_);
  pods_->set_on_event([this](std::string const& type, json::object const& pod) { on_pod_event(type, pod); });
  pods_->start(ex_);
}

std::vector<std::string> KubeSpawner::pin_fixed(KubeConfig& next) const {
  // What the pod watch, the API client and the start-up adoption were built with cannot
  // follow a reload: these keep their running values, and the changed ones are named.
  std::vector<std::string> kept;
  auto pin = [&](auto& field, auto const& running, char const* trait) {
    if (field != running) kept.emplace_back(trait);
    field = running;
  };
  pin(next.api.url, kube_.api.url, "KubeSpawner.k8s_api_host");
  pin(next.api.token, kube_.api.token, "the Kubernetes API credentials");
  next.api = kube_.api;
  pin(next.namespace_, kube_.namespace_, "KubeSpawner.namespace");
  pin(next.component_label, kube_.component_label, "KubeSpawner.component_label");
  pin(next.request_timeout, kube_.request_timeout, "KubeSpawner.k8s_api_request_timeout");
  pin(next.watch_timeout, kube_.watch_timeout, "KubeSpawner.watch_timeout");
  pin(next.watch_stall_timeout, kube_.watch_stall_timeout, "KubeSpawner.watch_stall_timeout");
  if (next.adopt_orphans != kube_.adopt_orphans || next.delete_orphans != kube_.delete_orphans)
    kept.emplace_back("KubeSpawner.orphan_pods");
  next.adopt_orphans = kube_.adopt_orphans;
  next.delete_orphans = kube_.delete_orphans;
  return kept;
}

std::vector<std::string> KubeSpawner::restart_only_changes(KubeConfig next) const { return pin_fixed(next); }

void KubeSpawner::set_config(SpawnerConfig cfg, KubeConfig next) {
  pin_fixed(next);
  settings_.store(Settings{std::move(cfg), std::move(next)});
}

KubeSpawner::~KubeSpawner() { pods_->stop(); }

void KubeSpawner::set_exit_listener(std::function<void()> listener) {
  std::lock_guard lock(mu_);
  exit_listener_ = std::move(listener);
}

void KubeSpawner::on_pod_event(std::string const& type, json::object const& pod) {
  std::function<void()> notify;
  {
    std::lock_guard lock(mu_);
    if (running_.empty() || !exit_listener_) return;
    bool ended = false;
    if (type == "RELISTED") {
      for (auto const& [name, uid] : running_)
        if (!pods_->get(name)) ended = true;
    } else {
      auto name = meta(pod, "name");
      auto it = running_.find(name);
      if (it == running_.end() || (!it->second.empty() && it->second != meta(pod, "uid"))) return;
      auto v = view_pod(pod);
      ended = type == "DELETED" || v.terminating || !pod_failure(v).empty();
    }
    if (!ended) return;
    notify = exit_listener_;
  }
  notify();
}

net::awaitable<bool> KubeSpawner::ensure_synced() {
  if (pods_->synced()) co_return true;
  // One grace period from start-up for the first list, shared by every caller: with the API
  // server down, nbhub's start (which polls each recorded server) must not wait per server.
  co_return co_await pods_->wait_synced(std::max(SteadyClock::now() + 1s, first_sync_deadline_));
}

net::awaitable<Result<std::string>> KubeSpawner::ensure_pvc(KubeConfig const& k, SpawnRequest const& req,
                                                          ServerNames const& names,
                                                          ProgressSink& sink) {
  auto const& ns = k.namespace_;
  auto exists = [&](std::string const& name) -> net::awaitable<Result<bool>> {
    auto r = co_await api_.call("GET", core_path(ns, "persistentvolumeclaims", name));
    if (!r) co_return r.error();
    if (r->status == 404) co_return false;
    if (!r->ok()) co_return make_error(Errc::unavailable, KubeApi::describe("get claim " + name, *r));
    co_return true;
  };
  // Names of every scheme KubeSpawner used: the current one, then the legacy escape scheme
  // (z2jh < 4); a claim found under either is used, never a second one made (spec §4 #6).
  auto current = co_await exists(names.pvc);
  if (!current) co_return current.error();
  if (*current) co_return names.pvc;
  auto legacy = legacy_pvc_name(k, req.user, req.server_name);
  if (legacy != names.pvc) {
    auto old = co_await exists(legacy);
    if (!old) co_return old.error();
    if (*old) {
      log_.info("kubernetes: using {}'s existing claim {} (KubeSpawner's legacy name)", req.user, legacy);
      sink.progress({5, "Using your existing volume " + legacy});
      co_return legacy;
    }
  }
  // A claim annotated for this user and server under a name no template gives any more.
  auto sel = "component=singleuser-storage,hub.jupyter.org/username=" + safe_label(req.user);
  auto listed = co_await api_.call("GET", core_path(ns, "persistentvolumeclaims") +
                                              "?labelSelector=" + query_escape(sel));
  if (listed && listed->ok() && listed->body.is_object())
    if (auto items = listed->body.as_object().if_contains("items"); items && items->is_array())
      for (auto const& it : items->as_array()) {
        if (!it.is_object()) continue;
        auto m = it.as_object().if_contains("metadata");
        auto ann = m && m->is_object() ? m->as_object().if_contains("annotations") : nullptr;
        if (!ann || !ann->is_object()) continue;
        auto const& a = ann->as_object();
        auto u = a.if_contains(kUserAnnotation);
        auto s = a.if_contains(kServerAnnotation);
        std::string server = s && s->is_string() ? std::string(s->as_string()) : "";
        if (u && u->is_string() && u->as_string() == req.user && server == req.server_name) {
          auto name = meta(it.as_object(), "name");
          log_.info("kubernetes: using {}'s existing claim {} (found by its annotations)", req.user, name);
          co_return name;
        }
      }

  sink.progress({5, "Creating your volume " + names.pvc});
  auto r = co_await api_.call("POST", core_path(ns, "persistentvolumeclaims"),
                              json::value(pvc_manifest(k, req, names)));
  if (!r) co_return r.error();
  if (r->ok() || r->status == 409) co_return names.pvc;
  if (r->status == 403) {
    // A quota may refuse the create of a claim that exists already (KubeSpawner does the same).
    auto again = co_await exists(names.pvc);
    if (again && *again) co_return names.pvc;
  }
  co_return make_error(r->status == 422 || r->status == 403 ? Errc::config : Errc::unavailable,
                       KubeApi::describe("create claim " + names.pvc, *r));
}

net::awaitable<Result<void>> KubeSpawner::delete_pod(std::string name, std::chrono::seconds grace,
                                                     bool wait) {
  json::object opts{{"kind", "DeleteOptions"}, {"apiVersion", "v1"}, {"gracePeriodSeconds", grace.count()}};
  auto path = core_path(kube_.namespace_, "pods", name) + "?gracePeriodSeconds=" + std::to_string(grace.count());
  auto r = co_await api_.call("DELETE", path, json::value(std::move(opts)));
  if (!r) co_return r.error();
  if (!r->ok() && r->status != 404)
    co_return make_error(Errc::unavailable, KubeApi::describe("delete pod " + name, *r));
  {
    std::lock_guard lock(mu_);
    running_.erase(name);
  }
  if (!wait || r->status == 404) co_return Result<void>{};
  // Gone means DELETED on the watch, not a sleep-and-retry (spec §4 #7).
  auto deadline = SteadyClock::now() + grace + 60s;
  auto seen = pods_->version();
  while (pods_->get(name) && SteadyClock::now() < deadline) seen = co_await pods_->wait_change(seen, deadline);
  if (pods_->get(name)) {
    // The copy may be behind; ask the API itself before calling it a failure.
    auto g = co_await api_.call("GET", core_path(kube_.namespace_, "pods", name));
    if (g && g->status == 404) co_return Result<void>{};
    co_return make_error(Errc::unavailable,
                         fmt::format("kubernetes: pod {} was still terminating {} after it was deleted", name,
                                     describe_duration(grace + 60s)));
  }
  co_return Result<void>{};
}

net::awaitable<Result<Started>> KubeSpawner::start(SpawnRequest req, ProgressSink& sink) {
  if (req.user.empty() || !req.service_prefix.starts_with('/') || !req.service_prefix.ends_with('/'))
    co_return make_error(Errc::bad_request, "kubernetes: a spawn needs a user and a /prefix/");
  // SpawnQueue cancels a start() that outlives its deadline; waits then return early and the
  // loop below sees the cancellation, so that the pod is deleted rather than an exception
  // thrown past the clean-up.
  co_await net::this_coro::throw_if_cancelled(false);
  // The settings in effect when this spawn began (a reload swaps them for later spawns), with
  // the chosen profile's kubespawner_override and what Python hooks set (ProfileSpawner puts
  // both in trait_overrides).
  auto const settings = settings_.load();
  std::optional<KubeConfig> chosen;
  if (!req.trait_overrides.empty()) {
    auto eff = apply_kube_overrides(settings->kube, req.trait_overrides);
    if (!eff) co_return eff.error();
    chosen = std::move(*eff);
  }
  KubeConfig const& k = chosen ? *chosen : settings->kube;
  auto names = server_names(k, req.user, req.server_name);
  if (!names) co_return names.error();
  if (!co_await ensure_synced())
    co_return make_error(Errc::unavailable, "kubernetes: the API server at " + kube_.api.url +
                                                " did not answer the pod list; see the hub log");

  if (k.storage_pvc_ensure) {
    auto pvc = co_await ensure_pvc(k, req, *names, sink);
    if (!pvc) co_return pvc.error();
    names->pvc = *pvc;
  }

  // The hub's contract plus what this spawner owns; env_keep is empty as in KubeSpawner: the
  // hub's PATH means nothing inside an image. 0.0.0.0: the server listens on the pod's IP.
  SpawnerConfig env_cfg = settings->cfg;
  env_cfg.env_keep.clear();
  env_cfg.environment.clear();  // expanded with the Kubernetes name fields below
  auto service_url = fmt::format("http://0.0.0.0:{}{}", k.port, req.service_prefix);
  auto env = build_environment(env_cfg, req, service_url,
                               [](std::string const&) { return std::optional<std::string>{}; });
  if (!env) co_return env.error();
  (*env)["JUPYTER_IMAGE"] = k.image;
  (*env)["JUPYTER_IMAGE_SPEC"] = k.image;
  auto quantity_text = [](json::value const& v) {
    return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
  };
  if (!k.mem_limit.is_null()) (*env)["MEM_LIMIT"] = quantity_text(k.mem_limit);
  if (!k.mem_guarantee.is_null()) (*env)["MEM_GUARANTEE"] = quantity_text(k.mem_guarantee);
  if (!k.cpu_limit.is_null()) (*env)["CPU_LIMIT"] = quantity_text(k.cpu_limit);
  if (!k.cpu_guarantee.is_null()) (*env)["CPU_GUARANTEE"] = quantity_text(k.cpu_guarantee);
  NameFields f{req.user, req.server_name, kube_.namespace_, names->pod, names->pvc};
  json::object env_sources;
  for (auto const& [name, value] : settings->cfg.environment) env_sources[name] = expand_name(value, f, k.slug_scheme);
  for (auto const& kv : k.environment) env_sources[kv.key()] = expand_all(kv.value(), f, k.slug_scheme);
  for (auto const& kv : env_sources) env->erase(std::string(kv.key()));
  std::vector<std::string> command = settings->cfg.cmd;
  command.insert(command.end(), settings->cfg.args.begin(), settings->cfg.args.end());
  auto body = pod_manifest(k, req, *names, *env, env_sources, command);
  if (req.modify_pod) {  // jupyterhub_config.py's modify_pod_hook (hub/python_hooks.hpp)
    auto changed = co_await req.modify_pod(std::move(body));
    if (!changed) co_return changed.error();
    body = std::move(*changed);
  }

  // A pod of that name from an earlier life: a terminating one is waited for, a live one
  // (the hub lost track of it) is replaced.
  if (auto old = pods_->get(names->pod)) {
    sink.progress({8, "Removing an old pod " + names->pod});
    if (auto d = co_await delete_pod(names->pod, 0s, true); !d) co_return d.error();
  }

  std::shared_ptr<Reflector> events;
  if (k.events_enabled) {
    ReflectorOptions o;
    o.what = "events of pod " + names->pod;
    o.path = core_path(kube_.namespace_, "events");
    o.field_selector = "involvedObject.kind=Pod,involvedObject.name=" + names->pod;
    o.watch_timeout = k.watch_timeout;
    o.stall_timeout = k.watch_stall_timeout;
    events = Reflector::create(api_, std::move(o), log_);
    events->start(ex_);
  }
  struct StopEvents {
    std::shared_ptr<Reflector> r;
    ~StopEvents() { if (r) r->stop(); }
  } stop_events{events};

  sink.progress({10, fmt::format("Creating pod {} in namespace {}", names->pod, kube_.namespace_)});
  std::string uid;
  for (int attempt = 0;; ++attempt) {
    auto r = co_await api_.call("POST", core_path(kube_.namespace_, "pods"), json::value(body));
    if (!r) co_return r.error();
    if (r->ok()) {
      uid = r->body.is_object() ? meta(r->body.as_object(), "uid") : "";
      break;
    }
    if (r->status == 409 && attempt == 0) {
      // Made between our look and our create (another hub replica, a slow earlier request).
      if (auto d = co_await delete_pod(names->pod, 0s, true); !d) co_return d.error();
      continue;
    }
    co_return make_error(r->status == 422 || r->status == 403 || r->status == 400 ? Errc::config : Errc::unavailable,
                         KubeApi::describe("create pod " + names->pod, *r));
  }
  {
    std::lock_guard lock(mu_);
    running_[names->pod] = uid;
  }
  log_.info("kubernetes: created pod {}/{} for {}", kube_.namespace_, names->pod, req.user);

  auto started = co_await wait_running(k, req, *names, uid, events.get(), sink);
  if (!started || cancelled(co_await net::this_coro::cancellation_state)) {
    // Never leave a pod behind (spec §4 #1). Cancellation may already be requested: the
    // clean-up must not be cut off by it.
    co_await net::this_coro::reset_cancellation_state();
    co_await net::this_coro::throw_if_cancelled(false);
    if (auto d = co_await delete_pod(names->pod, 0s, false); !d)
      log_.error("kubernetes: could not delete pod {} after a failed spawn: {}", names->pod, d.error().message);
    if (!started) co_return started.error();
    co_return make_error(Errc::unavailable, "starting the server was cancelled; its pod was deleted");
  }
  co_return started;
}

net::awaitable<Result<Started>> KubeSpawner::wait_running(KubeConfig const& k, SpawnRequest const& req, ServerNames const& names,
                                                         std::string uid, Reflector* events,
                                                         ProgressSink& sink) {
  enum class Phase { scheduling, pulling, starting } phase = Phase::scheduling;
  auto now = SteadyClock::now();
  auto deadline = now + k.schedule_timeout;
  std::set<std::string> shown;  // event uids already reported
  int progress = 20;
  std::string last_unschedulable, last_event;
  auto seen = pods_->version();
  auto last_direct_look = SteadyClock::now();  // the create has just been answered
  bool pulled = false;  // the kubelet reported the image pulled (or the container created)
  for (;;) {
    if (cancelled(co_await net::this_coro::cancellation_state))
      co_return make_error(Errc::unavailable, "the spawn was cancelled");
    // Events first: they explain what the pod's status then shows.
    if (events) {
      std::vector<json::object> fresh;
      for (auto& e : events->items()) {
        auto inv = e.if_contains("involvedObject");
        if (!inv || !inv->is_object()) continue;
        auto iuid = inv->as_object().if_contains("uid");
        // Events of an earlier pod of the same name carry its uid, not ours.
        if (!uid.empty() && iuid && iuid->is_string() && iuid->as_string() != uid) continue;
        if (shown.insert(meta(e, "uid") + meta(e, "resourceVersion")).second) fresh.push_back(std::move(e));
      }
      auto when = [](json::object const& e) {
        for (auto const* k : {"lastTimestamp", "eventTime", "firstTimestamp"})
          if (auto v = e.if_contains(k); v && v->is_string()) return std::string(v->as_string());
        return std::string();
      };
      std::sort(fresh.begin(), fresh.end(), [&](auto const& a, auto const& b) { return when(a) < when(b); });
      for (auto const& e : fresh) {
        auto reason = e.if_contains("reason") && e.at("reason").is_string() ? std::string(e.at("reason").as_string()) : "";
        auto msg = e.if_contains("message") && e.at("message").is_string() ? std::string(e.at("message").as_string()) : "";
        auto type = e.if_contains("type") && e.at("type").is_string() ? std::string(e.at("type").as_string()) : "Normal";
        // The pull has its own deadline: it may take long, and only while it runs.
        if (reason == "Pulling" && !pulled) {
          phase = Phase::pulling;
          deadline = SteadyClock::now() + k.image_pull_timeout;
        } else if ((reason == "Pulled" || reason == "Created" || reason == "Started") && !pulled) {
          pulled = true;
          phase = Phase::starting;
          deadline = SteadyClock::now() + k.start_timeout;
        }
        progress = std::min(90, progress + (90 - progress) / 3);
        last_event = fmt::format("[{}] {}", type, msg.empty() ? reason : msg);
        sink.progress({progress, last_event});
      }
    }
    auto pod = pods_->get(names.pod);
    if (pod) {
      auto v = view_pod(*pod);
      if (!uid.empty() && v.uid != uid) {
        co_return make_error(Errc::unavailable, "kubernetes: pod " + names.pod + " was replaced by another");
      }
      if (v.ready) {
        auto host = v.ip.find(':') != std::string::npos ? "[" + v.ip + "]" : v.ip;
        auto url = fmt::format("http://{}:{}", host, k.port);
        json::object state{{"pod_name", names.pod},          {"namespace", kube_.namespace_},
                           {"dns_name", names.pod + "." + kube_.namespace_ + ".svc.cluster.local"},
                           {"uid", v.uid},                   {"url", url},
                           {"kubespawner_version", kKubeSpawnerCompat}};
        if (!names.pvc.empty()) state["pvc_name"] = names.pvc;
        sink.progress({90, fmt::format("Pod {} is running at {}", names.pod, v.ip)});
        co_return Started{url, std::move(state)};
      }
      if (auto why = pod_failure(v); !why.empty())
        co_return make_error(Errc::unavailable, fmt::format("kubernetes: pod {}: {}", names.pod, why));
      if (v.scheduled && phase == Phase::scheduling) {
        phase = Phase::starting;  // until a Pulling event says otherwise
        deadline = SteadyClock::now() + k.start_timeout;
      }
      if (!v.unschedulable.empty() && v.unschedulable != last_unschedulable) {
        last_unschedulable = v.unschedulable;
        if (!events) sink.progress({progress, "[Warning] " + v.unschedulable});
      }
    } else if (!uid.empty() && SteadyClock::now() - last_direct_look > 5s) {
      // We created it, and the watch has not shown it for a while: it was deleted (by an
      // admin, or the cluster), or the watch is behind. Ask the API itself, at most every 5 s.
      last_direct_look = SteadyClock::now();
      auto g = co_await api_.call("GET", core_path(kube_.namespace_, "pods", names.pod));
      if (g && g->status == 404)
        co_return make_error(Errc::unavailable, "kubernetes: pod " + names.pod + " was deleted while it started");
    }
    if (SteadyClock::now() >= deadline) {
      std::string what = phase == Phase::scheduling ? "was not scheduled within " + describe_duration(k.schedule_timeout)
                         : phase == Phase::pulling   ? "could not pull its image within " + describe_duration(k.image_pull_timeout)
                                                     : "did not become ready within " + describe_duration(k.start_timeout);
      auto why = !last_unschedulable.empty() ? last_unschedulable : last_event;
      co_return make_error(Errc::unavailable, fmt::format("kubernetes: pod {} {}{}", names.pod, what,
                                                          why.empty() ? "" : " (last: " + why + ")"));
    }
    // Woken by the pod watch; the 1 s cap shows new events at least every second.
    seen = co_await pods_->wait_change(seen, std::min(deadline, SteadyClock::now() + 1s));
  }
}

net::awaitable<std::optional<int>> KubeSpawner::poll(json::object state) {
  auto name = state_string(state, "pod_name");
  if (name.empty()) co_return 0;
  if (!co_await ensure_synced()) {
    log_.warn("kubernetes: cannot poll pod {}: no pod list from the API server yet", name);
    co_return std::nullopt;  // cannot tell: assume it still runs
  }
  auto pod = pods_->get(name);
  auto uid = state_string(state, "uid");
  if (!pod || (!uid.empty() && meta(*pod, "uid") != uid)) co_return 0;
  auto v = view_pod(*pod);
  if (v.terminating) co_return 0;
  if (!pod_failure(v).empty()) co_return v.exit_code.value_or(1) == 0 ? 1 : v.exit_code.value_or(1);
  {
    std::lock_guard lock(mu_);
    running_[name] = meta(*pod, "uid");
  }
  co_return std::nullopt;
}

net::awaitable<std::string> KubeSpawner::exit_reason(json::object state) {
  auto name = state_string(state, "pod_name");
  if (name.empty()) co_return "";
  auto pod = pods_->get(name);
  auto uid = state_string(state, "uid");
  if (!pod || (!uid.empty() && meta(*pod, "uid") != uid)) co_return "its pod " + name + " was deleted";
  auto v = view_pod(*pod);
  if (v.terminating) co_return "its pod " + name + " is being deleted";
  co_return pod_failure(v);
}

net::awaitable<Result<void>> KubeSpawner::stop(json::object state, bool now) {
  auto name = state_string(state, "pod_name");
  if (name.empty()) co_return Result<void>{};
  if (auto ns = state_string(state, "namespace"); !ns.empty() && ns != kube_.namespace_)
    log_.warn("kubernetes: pod {} is in namespace {}, not {}; deleting it there is not supported", name, ns,
              kube_.namespace_);
  auto const grace = settings_.load()->kube.delete_grace_period;
  auto r = co_await delete_pod(name, now ? 0s : grace, true);
  if (!r) co_return make_error(Errc::unavailable, r.error().message);
  log_.info("kubernetes: deleted pod {}/{}", kube_.namespace_, name);
  co_return Result<void>{};
}

Result<void> KubeSpawner::adopt(json::object const& state) {
  auto name = state_string(state, "pod_name");
  if (name.empty()) return make_error(Errc::bad_request, "kubernetes: the state names no pod_name");
  std::lock_guard lock(mu_);
  running_[name] = state_string(state, "uid");
  return {};
}

net::awaitable<std::string> KubeSpawner::output_tail(json::object state) {
  // pods/log is outside the hub's Role; the pod's own status says more to its owner.
  co_return co_await exit_reason(std::move(state));
}

net::awaitable<std::vector<Spawner::Found>> KubeSpawner::discover() {
  std::vector<Found> out;
  if (!kube_.adopt_orphans || !co_await ensure_synced()) co_return out;
  for (auto const& pod : pods_->items()) {
    auto m = pod.if_contains("metadata");
    if (!m || !m->is_object()) continue;
    auto const& md = m->as_object();
    // Ours: the labels this hub puts on every pod (another hub in the namespace has others).
    auto labels = md.if_contains("labels");
    if (!labels || !labels->is_object()) continue;
    bool mine = true;
    for (auto const& kv : kube_.common_labels) {
      auto l = labels->as_object().if_contains(kv.key());
      if (!l || *l != kv.value()) mine = false;
    }
    auto ann = md.if_contains("annotations");
    auto user = ann && ann->is_object() ? ann->as_object().if_contains(kUserAnnotation) : nullptr;
    if (!mine || !user || !user->is_string()) continue;
    auto v = view_pod(pod);
    // Starting or failing pods count too: an unusable one must not escape the policy because
    // it was not ready yet. Only a pod with an IP can be adopted (the hub needs its URL).
    if (v.terminating) continue;
    Found f;
    f.stop_if_unusable = kube_.delete_orphans;
    f.user = std::string(user->as_string());
    if (auto s = ann->as_object().if_contains(kServerAnnotation); s && s->is_string())
      f.server_name = std::string(s->as_string());
    auto name = meta(pod, "name");
    if (!v.ip.empty())
      f.url = fmt::format("http://{}:{}", v.ip.find(':') != std::string::npos ? "[" + v.ip + "]" : v.ip, kube_.port);
    f.state = json::object{{"pod_name", name}, {"namespace", kube_.namespace_}, {"uid", v.uid}, {"url", f.url},
                           {"kubespawner_version", kKubeSpawnerCompat}};
    // The token it runs with, from its own spec: the hub adopts it only if that token is
    // still one of its own for this server.
    auto spec = pod.if_contains("spec");
    auto cs = spec && spec->is_object() ? spec->as_object().if_contains("containers") : nullptr;
    if (cs && cs->is_array() && !cs->as_array().empty() && cs->as_array()[0].is_object())
      if (auto env = cs->as_array()[0].as_object().if_contains("env"); env && env->is_array())
        for (auto const& e : env->as_array()) {
          if (!e.is_object()) continue;
          auto n = e.as_object().if_contains("name");
          auto val = e.as_object().if_contains("value");
          if (n && *n == "JUPYTERHUB_API_TOKEN" && val && val->is_string()) f.api_token = std::string(val->as_string());
        }
    out.push_back(std::move(f));
  }
  co_return out;
}

}  // namespace nbhub::spawn::kube
