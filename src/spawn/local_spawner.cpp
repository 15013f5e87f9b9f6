#include "spawn/local_spawner.hpp"

#include "spawn/spawner_overrides.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/logger.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "spawn/readiness.hpp"
#include "spawn/process_wait.hpp"
#include "spawn/run_blocking.hpp"
#include "spawn/user_home.hpp"

namespace nbhub::spawn {

using std::chrono::milliseconds;
namespace json = boost::json;

namespace {

bool is_v6(std::string const& ip) { return ip.find(':') != std::string::npos; }

// Host part of JUPYTERHUB_SERVICE_URL: where the server binds.
std::string bind_host(std::string const& ip) { return is_v6(ip) ? "[" + ip + "]" : ip; }

// Host the hub connects to: a wildcard bind is reached over loopback (spec §1.7.2).
std::string connect_host(std::string const& ip) {
  if (ip.empty() || ip == "0.0.0.0") return "127.0.0.1";
  if (ip == "::") return "[::1]";
  return bind_host(ip);
}

std::optional<std::int64_t> get_int(json::object const& o, std::string_view key) {
  auto const* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->get_uint64());
  return std::nullopt;
}

std::uint64_t get_unsigned(json::object const& o, std::string_view key) {
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, get_int(o, key).value_or(0)));
}

std::string get_string(json::object const& o, std::string_view key) {
  auto const* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The process a state names; nullopt for an empty or foreign state.
std::optional<ProcessRef> ref_from_state(json::object const& state) {
  auto pid = get_int(state, "pid");
  if (!pid || *pid <= 1 || *pid > INT32_MAX) return std::nullopt;
  ProcessRef ref;
  ref.pid = static_cast<pid_t>(*pid);
  auto pgid = get_int(state, "pgid").value_or(*pid);
  if (pgid <= 1 || pgid > INT32_MAX) return std::nullopt;
  ref.pgid = static_cast<pid_t>(pgid);
  ref.start_ticks = get_unsigned(state, "start_ticks");
  return ref;
}

bool is_cancelled(net::cancellation_state const& cs) {
  return cs.cancelled() != net::cancellation_type::none;
}

std::string join(std::vector<std::string> const& v) {
  std::string out;
  for (auto const& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

}  // namespace

LocalSpawner::LocalSpawner(SpawnerConfig cfg, ProcessRunner& runner, net::thread_pool& pool,
                           Clock const& clock, spdlog::logger& log, EnvLookup env)
    : cfg_(std::move(cfg)), runner_(runner), pool_(pool), clock_(clock), log_(log),
      env_(std::move(env)) {}

std::string LocalSpawner::log_path(std::string const& user, std::string const& server) const {
  auto const cfg = cfg_.load();
  std::string name = escape_file_name(user);
  if (!server.empty()) name += "-" + escape_file_name(server);
  return (std::filesystem::path(cfg->log_dir) / (name + ".log")).string();
}

net::awaitable<Result<Started>> LocalSpawner::start(SpawnRequest req, ProgressSink& sink) {
  auto cfg = cfg_.load();  // one configuration for the whole start (a reload may swap it)
  // A profile's or a hook's overrides (cmd, environment, default_url, ...) for this server.
  if (!req.trait_overrides.empty()) {
    auto eff = apply_local_overrides(*cfg, req.trait_overrides);
    if (!eff) co_return eff.error();
    cfg = std::make_shared<const SpawnerConfig>(std::move(*eff));
  }
  if (req.user.empty()) co_return Error{Errc::bad_request, "spawn: the user name is empty"};
  auto const& prefix = req.service_prefix;
  if (prefix.empty() || prefix.front() != '/' || prefix.back() != '/')
    co_return Error{Errc::bad_request,
                    fmt::format("spawn: service prefix '{}' must start and end with '/'", prefix)};
  if (cfg->cmd.empty() || cfg->cmd.front().empty())
    co_return Error{Errc::config, "spawner.cmd is empty; set it to the single-user command"};

  auto program = std::filesystem::path(cfg->cmd.front()).filename().string();
  sink.progress({20, fmt::format("Starting {}", program)});
  auto job = [this, cfg, req] { return launch_blocking(*cfg, req); };
  auto launch = co_await run_blocking(pool_, std::move(job));
  if (!launch) {
    log_.warn("spawn of {}'s server '{}' failed: {}", req.user, req.server_name,
              launch.error().message);
    co_return launch.error();
  }
  ProcessRef ref = launch->launched.ref;
  if (is_cancelled(co_await net::this_coro::cancellation_state)) {
    // The caller gave up (start_timeout) while we forked: leave nothing behind.
    runner_.signal_group(ref, SIGKILL);
    runner_.forget(ref);
    co_return Error{Errc::unavailable, "starting the server was cancelled; its process was killed"};
  }

  json::object state;
  // Numbers as int64 throughout: that is what they parse back as from the database.
  state["pid"] = std::int64_t{ref.pid};
  state["pgid"] = std::int64_t{ref.pgid};
  state["port"] = std::int64_t{launch->port};
  state["ip"] = cfg->ip;
  state["started_at"] = clock_.unix_seconds();
  state["start_ticks"] = static_cast<std::int64_t>(ref.start_ticks);
  state["log"] = launch->log_path;
  state["log_offset"] = static_cast<std::int64_t>(launch->launched.log_offset);
  std::string url = fmt::format("http://{}:{}", connect_host(cfg->ip), launch->port);
  log_.info("started {}'s server '{}': pid {}, {}{}, log {}", req.user, req.server_name, ref.pid,
            url, prefix, launch->log_path);
  sink.progress(
      {40, fmt::format("Server process started (pid {}, port {})", ref.pid, launch->port)});
  co_return Started{std::move(url), std::move(state)};
}

Result<std::string> LocalSpawner::prepare_home(SpawnerConfig const& cfg, SpawnRequest const& req) {
  auto home = home_dir_for(cfg.home_dir_template, req.user, cfg.hub_state);
  if (!home) return home.error();
  if (!cfg.notebook_dir.empty()) {
    // The root the server will show, resolved as the server will: against its home.
    std::string root = expand_template(cfg.notebook_dir, {req.user, req.server_name,
                                                           req.service_prefix});
    if (root == "~" || root.starts_with("~/"))
      root = *home + root.substr(1);
    else if (!root.starts_with("/"))
      root = *home + "/" + root;
    if (auto ok = check_holds_no_hub_state(root, cfg.hub_state, "spawner.notebook_dir",
                                           req.user);
        !ok)
      return ok.error();
  }
  auto narrowed = make_private_dir(*home, ::geteuid());
  if (!narrowed) return narrowed.error();
  if (*narrowed)
    log_.warn("{}'s home {} was open to other users; its mode is now 0700", req.user, *home);
  return home;
}

Result<LocalSpawner::Launch> LocalSpawner::launch_blocking(SpawnerConfig const& cfg, SpawnRequest const& req) {
  if (auto ok = check_root_servers(cfg, ::geteuid()); !ok) return ok.error();
  std::optional<SystemUser> user;
  std::string home;  // without a system user: the home made for this user
  if (cfg.run_as_system_user) {
    auto u = runner_.lookup_user(req.user);
    if (!u) return u.error();
    user = std::move(*u);
  } else {
    auto h = prepare_home(cfg, req);
    if (!h) return h.error();
    home = std::move(*h);
  }
  std::error_code ec;
  std::filesystem::create_directories(cfg.log_dir, ec);
  if (ec)
    return Error{Errc::config, fmt::format("cannot create spawner.log_dir {}: {}", cfg.log_dir,
                                           ec.message())};
  auto port = pick_free_port(cfg.ip);
  if (!port) return port.error();
  std::string service_url =
      fmt::format("http://{}:{}{}", bind_host(cfg.ip), *port, req.service_prefix);
  auto env = build_environment(cfg, req, service_url, env_);
  if (!env) return env.error();
  if (user) {  // after `environment`, as LocalProcessSpawner.user_env
    (*env)["USER"] = user->name;
    if (!user->home.empty()) (*env)["HOME"] = user->home;
    if (!user->shell.empty()) (*env)["SHELL"] = user->shell;
  } else {  // as SimpleLocalProcessSpawner.user_env
    (*env)["USER"] = req.user;
    (*env)["HOME"] = home;
    (*env)["SHELL"] = "/bin/bash";
  }
  // Like execvp: the child's PATH, else nbhub's, else the POSIX default.
  auto it = env->find("PATH");
  std::string path_var = it != env->end() ? it->second : env_("PATH").value_or("/usr/bin:/bin");
  auto exe = resolve_command(cfg.cmd.front(), path_var);
  if (!exe) return exe.error();

  LaunchSpec spec;
  spec.path = std::move(*exe);
  spec.argv = cfg.cmd;
  spec.argv.insert(spec.argv.end(), cfg.args.begin(), cfg.args.end());
  spec.env = to_envp(*env);
  spec.log_path = log_path(req.user, req.server_name);
  spec.log_banner = fmt::format(
      "---- nbhub {:%Y-%m-%dT%H:%M:%SZ}: starting {} for {}{} on port {} ----\n",
      fmt::gmtime(static_cast<std::time_t>(clock_.unix_seconds())), join(spec.argv), req.user,
      req.server_name.empty() ? "" : " (server " + req.server_name + ")", *port);
  spec.cwd = user ? user->home : home;
  spec.cwd_required = !user;  // never fall back to "/" for a home of our own
  spec.user = std::move(user);
  auto launched = runner_.launch(spec);
  if (!launched) return launched.error();
  return Launch{*launched, *port, spec.log_path};
}

net::awaitable<std::optional<int>> LocalSpawner::poll(json::object state) {
  auto ref = ref_from_state(state);
  if (!ref) co_return 0;  // never started, or cleared: not running
  co_return runner_.poll(*ref);
}

net::awaitable<bool> LocalSpawner::wait_gone(ProcessRef ref, milliseconds limit) {
  co_return co_await wait_group_gone(runner_, pool_, ref, limit);
}

net::awaitable<Result<void>> LocalSpawner::stop(json::object state, bool now) {
  auto const cfg = cfg_.load();
  auto ref = ref_from_state(state);
  if (!ref) co_return Result<void>{};  // nothing was started: stopping is a no-op
  if (co_await wait_gone(*ref, milliseconds::zero())) {
    runner_.forget(*ref);
    co_return Result<void>{};
  }
  if (!now) {
    runner_.signal_group(*ref, SIGINT);
    if (co_await wait_gone(*ref, cfg->interrupt_timeout)) {
      runner_.forget(*ref);
      log_.info("stopped server pid {}", ref->pid);
      co_return Result<void>{};
    }
    log_.warn("server pid {} still runs {} after SIGINT; sending SIGTERM", ref->pid,
              describe_duration(cfg->interrupt_timeout));
    runner_.signal_group(*ref, SIGTERM);
    if (co_await wait_gone(*ref, cfg->term_timeout)) {
      runner_.forget(*ref);
      log_.info("stopped server pid {}", ref->pid);
      co_return Result<void>{};
    }
    log_.warn("server pid {} still runs {} after SIGTERM; sending SIGKILL", ref->pid,
              describe_duration(cfg->term_timeout));
  }
  runner_.signal_group(*ref, SIGKILL);
  if (co_await wait_gone(*ref, cfg->kill_timeout)) {
    runner_.forget(*ref);
    log_.info("killed server pid {}", ref->pid);
    co_return Result<void>{};
  }
  co_return Error{Errc::unavailable,
                  fmt::format("process group {} survived SIGKILL for {}; it may be stuck in the "
                              "kernel (state D); check it with ps",
                              ref->pgid, describe_duration(cfg->kill_timeout))};
}

Result<void> LocalSpawner::adopt(json::object const& state) {
  auto ref = ref_from_state(state);
  if (!ref)
    return Error{Errc::bad_request,
                 "cannot adopt the server: its spawner state has no valid pid (not written by "
                 "the local spawner?)"};
  // Nothing to register: poll() treats a PID we did not launch as adopted.
  log_.info("adopted server pid {} (port {})", ref->pid, get_int(state, "port").value_or(0));
  return {};
}

std::size_t LocalSpawner::start_limit() const {
  auto const cfg = cfg_.load();
  if (cfg->local_start_limit) return cfg->local_start_limit;
  // Two per core keeps every core busy while one server waits on I/O, and gives each starting
  // server at least half a core: ~4 s to answer instead of the 30 s http_timeout.
  return 2 * std::max(1u, std::thread::hardware_concurrency());
}

net::awaitable<std::string> LocalSpawner::output_tail(json::object state) {
  std::string path = get_string(state, "log");
  if (path.empty()) co_return std::string();
  auto offset = get_unsigned(state, "log_offset");
  auto job = [path, offset] { return read_log_tail(path, offset); };
  co_return co_await run_blocking(pool_, std::move(job));
}

// ---------------------------------------------------------------------------------------------

Result<void> check_root_servers(SpawnerConfig const& cfg, uid_t euid) {
  if (euid != 0 || cfg.run_as_system_user || cfg.allow_root_servers) return {};
  // JupyterHub's own opt-in: the admin told the server itself that it may run as root.
  if (std::find(cfg.args.begin(), cfg.args.end(), "--allow-root") != cfg.args.end()) return {};
  return Error{Errc::config,
               "nbhub runs as root and spawner.run_as_system_user is off, so this server would "
               "run as root too, able to read the hub's secrets and change anything on the "
               "machine. Run nbhub as an unprivileged user, or set spawner.run_as_system_user "
               "= true, or accept root servers with spawner.allow_root_servers = true "
               "(NBHUB_SPAWNER_ALLOW_ROOT_SERVERS=true; for development and tests)"};
}

Result<std::string> resolve_command(std::string const& cmd, std::string const& path_var, std::string_view setting) {
  auto executable = [](std::string const& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (cmd.find('/') != std::string::npos) {
    // Absolute, because the child may chdir to a home directory before exec.
    std::error_code ec;
    auto abs = std::filesystem::absolute(cmd, ec).string();
    if (!ec && executable(abs)) return abs;
    return Error{Errc::unavailable,
                 fmt::format("command not found: {} does not exist or is not executable; check {}", cmd,
                             setting)};
  }
  std::size_t begin = 0;
  for (;;) {
    auto end = path_var.find(':', begin);
    std::string dir = path_var.substr(begin, end == std::string::npos ? end : end - begin);
    if (dir.empty()) dir = ".";  // POSIX: an empty PATH entry is the working directory
    std::error_code ec;
    auto candidate = std::filesystem::absolute(std::filesystem::path(dir) / cmd, ec).string();
    if (!ec && executable(candidate)) return candidate;
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return Error{Errc::unavailable,
               fmt::format("command not found: '{}' is not in PATH ({}); install it or set {} to its full path",
                           cmd, path_var, setting)};
}

Result<unsigned short> pick_free_port(std::string const& ip) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    len = sizeof *v6;
  } else {
    return Error{Errc::config,
                 fmt::format("spawner.ip '{}' is not an IPv4 or IPv6 address", ip)};
  }
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    return Error{Errc::unavailable,
                 fmt::format("cannot find a free port on {}: {}", ip, std::strerror(err))};
  }
  ::close(fd);
  return ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
}

std::string read_log_tail(std::string const& path, std::uint64_t offset, std::size_t max_lines,
                          std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return {};
  struct stat st {};
  std::string buf;
  if (::fstat(fd, &st) == 0 && static_cast<std::uint64_t>(st.st_size) > offset) {
    auto size = static_cast<std::uint64_t>(st.st_size);
    std::uint64_t from = std::max<std::uint64_t>(offset, size > max_bytes ? size - max_bytes : 0);
    buf.resize(size - from);
    ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(from));
    buf.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    if (from > offset) {  // started mid-line: drop the fragment
      auto nl = buf.find('\n');
      buf.erase(0, nl == std::string::npos ? buf.size() : nl + 1);
    }
  }
  ::close(fd);
  while (!buf.empty() && (buf.back() == '\n' || buf.back() == '\r')) buf.pop_back();
  std::size_t keep_from = buf.size();  // walk back over max_lines line breaks
  for (std::size_t i = 0; i < max_lines && keep_from > 0; ++i) {
    auto nl = buf.rfind('\n', keep_from - 1);
    keep_from = nl == std::string::npos ? 0 : nl;
  }
  if (keep_from > 0) buf.erase(0, keep_from + 1);
  // The text ends up in error messages and web pages: no terminal escapes or other controls.
  for (char& c : buf)
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') c = '?';
  return buf;
}

}  // namespace nbhub::spawn
