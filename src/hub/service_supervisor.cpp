#include "hub/service_supervisor.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/logger.h>

#include <signal.h>
#include <string.h>

#include <filesystem>

#include "hub/hub_metrics.hpp"
#include "spawn/local_spawner.hpp"  // resolve_command
#include "spawn/process_wait.hpp"
#include "spawn/run_blocking.hpp"
#include "spawn/user_home.hpp"       // escape_file_name

namespace nbhub::hub {

namespace net = boost::asio;
using std::chrono::milliseconds;

struct ServiceSupervisor::Entry {
  explicit Entry(net::any_io_executor ex, Service s) : svc(std::move(s)), wake(ex), done(ex) {
    done.expires_at(net::steady_timer::time_point::max());
  }
  Service svc;
  bool stopping = false;
  bool finished = false;
  std::optional<spawn::ProcessRef> ref;  // the running process, if any
  net::steady_timer wake;                // the poll and backoff timer; cancelled to stop
  net::steady_timer done;                // never expires; cancelled when supervise() ends
};

namespace {

// Whether a running service must be restarted to pick up `b`.
bool same_launch(Service const& a, Service const& b) {
  return a.command == b.command && a.environment == b.environment && a.cwd == b.cwd && a.user == b.user &&
         a.url == b.url && a.prefix == b.prefix && a.api_token == b.api_token &&
         a.oauth_client_id == b.oauth_client_id && a.oauth_client_allowed_scopes == b.oauth_client_allowed_scopes;
}

std::string describe_status(int status) {
  if (status >= 0) return fmt::format("exited with code {}", status);
  char const* abbrev = ::sigabbrev_np(-status);
  return fmt::format("was killed by signal {} (SIG{})", -status, abbrev ? abbrev : "?");
}

std::string join(std::vector<std::string> const& v) {
  std::string out;
  for (auto const& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

auto log_if_thrown(spdlog::logger& log, std::string name) {
  return [&log, name](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (std::exception const& ex) {
      log.error("service {}: supervisor failed: {}", name, ex.what());
    }
  };
}

}  // namespace

ServiceSupervisor::ServiceSupervisor(SupervisorOptions opts, spawn::ProcessRunner& runner, net::thread_pool& pool,
                                     net::any_io_executor ex, HubMetrics* metrics, spdlog::logger& log,
                                     spawn::EnvLookup env)
    : opts_(std::move(opts)), runner_(runner), pool_(pool), strand_(net::make_strand(ex)), metrics_(metrics),
      log_(log), env_(std::move(env)) {}

ServiceSupervisor::~ServiceSupervisor() = default;

std::string ServiceSupervisor::log_path(std::string const& name) const {
  return (std::filesystem::path(opts_.log_dir) / ("service-" + spawn::escape_file_name(name) + ".log")).string();
}

std::optional<int> ServiceSupervisor::pid_of(std::string const& name) const {
  std::lock_guard lock(pids_mu_);
  auto it = pids_.find(name);
  if (it == pids_.end()) return std::nullopt;
  return it->second;
}

net::awaitable<Result<spawn::Launched>> ServiceSupervisor::launch(Service s) {
  auto job = [this, s = std::move(s)]() -> Result<spawn::Launched> {
    std::optional<spawn::SystemUser> user;
    if (!s.user.empty()) {
      auto u = runner_.lookup_user(s.user);
      if (!u) return u.error();
      user = std::move(*u);
    }
    auto env = service_environment(s, opts_.env, user ? &*user : nullptr, env_);
    if (!env) return env.error();
    auto it = env->find("PATH");
    auto exe = spawn::resolve_command(s.command.front(),
                                      it != env->end() ? it->second : env_("PATH").value_or("/usr/bin:/bin"),
                                      fmt::format("the command of service \"{}\"", s.name));
    if (!exe) return exe.error();
    std::error_code ec;
    std::filesystem::create_directories(opts_.log_dir, ec);
    if (ec)
      return Error{Errc::config, fmt::format("cannot create managed_services.log_dir {}: {}", opts_.log_dir,
                                             ec.message())};
    spawn::LaunchSpec spec;
    spec.path = std::move(*exe);
    spec.argv = s.command;
    spec.env = spawn::to_envp(*env);
    spec.log_path = log_path(s.name);
    spec.log_banner = fmt::format("---- nbhub: starting service {}: {} ----\n", s.name, join(s.command));
    spec.cwd = s.cwd;
    spec.cwd_required = !s.cwd.empty();  // a configured cwd that is missing is an error
    spec.user = std::move(user);
    // Gone with its hub: with replicas another one starts the service in its place.
    spec.die_with_hub = true;
    return runner_.launch(spec);
  };
  co_return co_await spawn::run_blocking(pool_, std::move(job));
}

net::awaitable<void> ServiceSupervisor::supervise(std::shared_ptr<Entry> e) {
  auto const& name = e->svc.name;
  auto delay = opts_.restart_delay;
  auto set_up = [&](bool on) {
    if (metrics_) metrics_->service_up.labels({name}).set(on ? 1 : 0);
  };
  boost::system::error_code ec;
  while (!e->stopping) {
    auto launched = co_await launch(e->svc);
    std::string reason;
    if (!launched) {
      reason = "launch_failed";
      log_.error("service {}: {}; trying again in {}", name, launched.error().message,
                 std::chrono::duration_cast<milliseconds>(delay));
    } else {
      e->ref = launched->ref;
      {
        std::lock_guard lock(pids_mu_);
        pids_[name] = launched->ref.pid;
      }
      set_up(true);
      log_.info("service {} started as pid {}: {} (output in {})", name, launched->ref.pid, join(e->svc.command),
                log_path(name));
      auto const t0 = std::chrono::steady_clock::now();
      std::optional<int> status;
      while (!e->stopping) {
        e->wake.expires_after(opts_.poll_interval);
        co_await e->wake.async_wait(net::redirect_error(net::use_awaitable, ec));
        if (e->stopping) break;
        if ((status = runner_.poll(*e->ref))) break;
      }
      if (e->stopping) break;  // the process is ended below
      set_up(false);
      {
        std::lock_guard lock(pids_mu_);
        pids_.erase(name);
      }
      // The leader is gone; what it left in its process group goes too (it could hold the port).
      runner_.signal_group(*e->ref, SIGKILL);
      runner_.forget(*e->ref);
      auto const pid = e->ref->pid;
      e->ref.reset();
      auto ran = std::chrono::steady_clock::now() - t0;
      if (ran >= opts_.restart_max_delay) delay = opts_.restart_delay;
      reason = *status >= 0 ? "exit" : "signal";
      log_.warn("service {} (pid {}) {} after {}; restarting in {}", name, pid, describe_status(*status),
                std::chrono::duration_cast<milliseconds>(ran), delay);
    }
    if (metrics_) metrics_->service_restarts.labels({name, reason}).inc();
    e->wake.expires_after(delay);
    co_await e->wake.async_wait(net::redirect_error(net::use_awaitable, ec));
    delay = std::min(delay * 2, opts_.restart_max_delay);
  }
  if (e->ref) {
    auto const ref = *e->ref;
    runner_.signal_group(ref, SIGTERM);
    bool gone = co_await spawn::wait_group_gone(runner_, pool_, ref, opts_.stop_timeout);
    if (!gone) {
      log_.warn("service {} (pid {}) still runs {} after SIGTERM; sending SIGKILL", name, ref.pid,
                opts_.stop_timeout);
      runner_.signal_group(ref, SIGKILL);
      gone = co_await spawn::wait_group_gone(runner_, pool_, ref, opts_.stop_timeout);
    }
    if (gone) log_.info("service {} (pid {}) stopped", name, ref.pid);
    else log_.error("service {}: process group {} survived SIGKILL; check it with ps", name, ref.pgid);
    runner_.forget(ref);
    e->ref.reset();
  }
  set_up(false);
  {
    std::lock_guard lock(pids_mu_);
    pids_.erase(name);
  }
  e->finished = true;
  e->done.cancel();
}

net::awaitable<void> ServiceSupervisor::stop_entry(std::shared_ptr<Entry> e) {
  e->stopping = true;
  e->wake.cancel();
  if (!e->finished) {
    boost::system::error_code ec;
    co_await e->done.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
}

net::awaitable<void> ServiceSupervisor::apply(std::vector<Service> services) {
  auto body = [this, services = std::move(services)]() mutable -> net::awaitable<void> {
    if (closed_) co_return;
    std::map<std::string, Service> wanted;
    for (auto& s : services)
      if (s.managed()) wanted.emplace(s.name, std::move(s));
    for (auto it = entries_.begin(); it != entries_.end();) {
      auto w = wanted.find(it->first);
      if (w != wanted.end() && same_launch(it->second->svc, w->second)) {
        wanted.erase(w);
        ++it;
        continue;
      }
      log_.info("service {}: {}", it->first, w == wanted.end() ? "no longer configured; stopping it"
                                                                  : "configuration changed; restarting it");
      auto e = it->second;
      it = entries_.erase(it);
      co_await stop_entry(e);
    }
    for (auto& [name, s] : wanted) {
      auto e = std::make_shared<Entry>(strand_, std::move(s));
      entries_[name] = e;
      net::co_spawn(strand_, supervise(e), log_if_thrown(log_, name));
    }
  };
  co_await net::co_spawn(strand_, std::move(body), net::use_awaitable);
}

net::awaitable<void> ServiceSupervisor::stop_all() {
  auto body = [this]() -> net::awaitable<void> {
    closed_ = true;
    // Every service is told first, so that they wind down side by side.
    for (auto& [_, e] : entries_) {
      e->stopping = true;
      e->wake.cancel();
    }
    for (auto& [_, e] : entries_) co_await stop_entry(e);
    entries_.clear();
  };
  co_await net::co_spawn(strand_, std::move(body), net::use_awaitable);
}

}  // namespace nbhub::hub
