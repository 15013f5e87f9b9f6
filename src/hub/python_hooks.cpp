#include "hub/python_hooks.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/pyeval.hpp"

extern char** environ;

namespace nbhub::hub {

namespace net = boost::asio;
namespace json = boost::json;

namespace {

// How long after python.hook_timeout nbhub waits for the runtime's own "did not finish"
// answer before it kills the helper (a hook that blocks the runtime's event loop).
constexpr std::chrono::seconds kGrace{2};

struct Pending {
  explicit Pending(net::any_io_executor ex) : done(std::move(ex), 1) {}
  net::experimental::concurrent_channel<void(boost::system::error_code)> done;
  std::optional<Result<json::object>> result;  // GUARDED_BY(Proc::mu)
};

}  // namespace

struct PythonHelper::Proc {
  Proc(net::any_io_executor ex, pid_t p, int in_fd, int out_fd, spdlog::logger& l)
      : pid(p), in(ex, in_fd), out(ex, out_fd), log(l) {}
  pid_t pid;
  net::posix::stream_descriptor in, out;
  spdlog::logger& log;
  std::mutex mu;
  std::map<std::uint64_t, std::shared_ptr<Pending>> pending;  // GUARDED_BY(mu)
  std::deque<std::string> writes;                             // GUARDED_BY(mu)
  bool writing = false;                                       // GUARDED_BY(mu)
  bool dead = false;                                          // GUARDED_BY(mu)
  std::string why;  // GUARDED_BY(mu): the configuration's error at start-up, or how it ended
  bool reaped = false;                                        // GUARDED_BY(mu)

  void finish(Result<json::object> r, std::shared_ptr<Pending> const& p) {
    p->result = std::move(r);
    p->done.try_send(boost::system::error_code{});
  }

  // Marks the helper dead and fails every call it had.
  void died(std::string reason) {
    std::map<std::uint64_t, std::shared_ptr<Pending>> failed;
    {
      std::lock_guard lock(mu);
      if (dead) return;
      dead = true;
      if (why.empty()) why = std::move(reason);
      failed.swap(pending);
      for (auto& [_, p] : failed)
        finish(Error{Errc::unavailable, fmt::format("the Python hook helper stopped: {}", why)}, p);
    }
    reap();
  }

  void reap() {
    {
      std::lock_guard lock(mu);
      if (reaped) return;
      reaped = true;
    }
    // The descriptors stay open until the last reference (the reader) lets go of this Proc:
    // closing them under a pending read on another thread would race.
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == 0) {
      ::kill(pid, SIGKILL);  // it closed stdout but lives on: never leave it behind
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
};

namespace {

net::awaitable<void> write_loop(std::shared_ptr<PythonHelper::Proc> p) {
  for (;;) {
    std::string next;
    {
      std::lock_guard lock(p->mu);
      if (p->writes.empty() || p->dead) {
        p->writes.clear();
        p->writing = false;
        co_return;
      }
      next = std::move(p->writes.front());
      p->writes.pop_front();
    }
    auto [ec, n] = co_await net::async_write(p->in, net::buffer(next), net::as_tuple(net::use_awaitable));
    if (ec) {
      std::lock_guard lock(p->mu);
      p->writes.clear();
      p->writing = false;
      co_return;  // the reader sees the helper end and fails its calls
    }
  }
}

void enqueue(net::any_io_executor const& ex, std::shared_ptr<PythonHelper::Proc> const& p, std::string line) {
  {
    std::lock_guard lock(p->mu);
    p->writes.push_back(std::move(line));
    if (p->writing) return;
    p->writing = true;
  }
  net::co_spawn(ex, write_loop(p), net::detached);
}

net::awaitable<void> read_loop(std::shared_ptr<PythonHelper::Proc> p, std::size_t max_line) {
  std::string buf;
  std::string reason = "it exited";
  for (;;) {
    auto [ec, n] = co_await net::async_read_until(p->out, net::dynamic_buffer(buf, max_line), '\n',
                                                  net::as_tuple(net::use_awaitable));
    if (ec) {
      if (ec == net::error::not_found)
        reason = fmt::format("it answered a line longer than {} bytes (python.max_output_bytes)", max_line);
      break;
    }
    std::string line = buf.substr(0, n);
    buf.erase(0, n);
    boost::system::error_code jec;
    auto doc = json::parse(line, jec);
    if (jec || !doc.is_object()) continue;  // not ours; the runtime prints nothing else here
    auto& o = doc.get_object();
    if (o.contains("ready")) {
      p->log.info("python hook helper ready (pid {})", p->pid);
      continue;
    }
    if (auto const* e = o.if_contains("error"); e && e->is_object() && !o.contains("id")) {
      auto const& eo = e->get_object();
      auto where = eo.if_contains("file") && eo.at("file").is_string() ? std::string(eo.at("file").as_string()) : "";
      auto l = eo.if_contains("line") && eo.at("line").is_int64() ? eo.at("line").as_int64() : 0;
      auto msg = eo.if_contains("message") && eo.at("message").is_string()
                     ? std::string(eo.at("message").as_string())
                     : std::string("error");
      std::lock_guard lock(p->mu);
      p->why = fmt::format("the configuration failed: {}:{}: {}", where, l, msg);
      continue;
    }
    auto const* idv = o.if_contains("id");
    if (!idv || !idv->is_int64()) continue;
    std::shared_ptr<Pending> pending;
    {
      std::lock_guard lock(p->mu);
      auto it = p->pending.find(static_cast<std::uint64_t>(idv->as_int64()));
      if (it == p->pending.end()) continue;  // it timed out here already
      pending = it->second;
      p->pending.erase(it);
      auto const* ok = o.if_contains("ok");
      if (ok && ok->is_bool() && ok->as_bool()) {
        p->finish(std::move(o), pending);
      } else {
        auto const* err = o.if_contains("error");
        p->finish(Error{Errc::bad_request, err && err->is_string() ? std::string(err->as_string())
                                                                    : std::string("the hook failed")},
                  pending);
      }
    }
  }
  p->log.warn("python hook helper (pid {}) stopped: {}", p->pid, reason);
  p->died(reason);
}

}  // namespace

PythonHelper::PythonHelper(net::any_io_executor ex, Options opts, spdlog::logger& log)
    : ex_(std::move(ex)), opts_(std::move(opts)), log_(log) {
  // Writing to the pipe of a helper that just died must give EPIPE, not kill the hub. (The
  // helper itself gets default dispositions back: POSIX_SPAWN_SETSIGDEF below.)
  ::signal(SIGPIPE, SIG_IGN);
}

PythonHelper::~PythonHelper() {
  std::shared_ptr<Proc> p;
  {
    std::lock_guard lock(mu_);
    p = std::move(proc_);
  }
  if (p) {
    ::kill(p->pid, SIGKILL);
    p->died("nbhub is stopping");
  }
}

std::optional<pid_t> PythonHelper::pid() const {
  std::lock_guard lock(mu_);
  if (!proc_) return std::nullopt;
  std::lock_guard plock(proc_->mu);
  if (proc_->dead) return std::nullopt;
  return proc_->pid;
}

std::size_t PythonHelper::starts() const {
  std::lock_guard lock(mu_);
  return starts_;
}

Result<std::shared_ptr<PythonHelper::Proc>> PythonHelper::running() {
  std::lock_guard lock(mu_);
  if (proc_) {
    std::lock_guard plock(proc_->mu);
    if (!proc_->dead) return proc_;
  }
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) < 0) return Error{Errc::unavailable, fmt::format("pipe: {}", std::strerror(errno))};
  if (::pipe2(out, O_CLOEXEC) < 0) {
    ::close(in[0]);
    ::close(in[1]);
    return Error{Errc::unavailable, fmt::format("pipe: {}", std::strerror(errno))};
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::string source(config::pyeval::runtime_source());
  std::vector<std::string> args{opts_.python, "-I", "-c", source, "serve"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all;
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigdefault(&attr, &all);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, opts_.python.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    return Error{Errc::unavailable, fmt::format("could not run {}: {}", opts_.python, std::strerror(rc))};
  }
  auto p = std::make_shared<Proc>(ex_, pid, in[1], out[0], log_);
  ++starts_;
  log_.info("python hook helper started (pid {}, start {})", pid, starts_);
  if (proc_) {
    // The previous one is dead; make sure it is reaped.
    proc_->reap();
  }
  proc_ = p;
  enqueue(ex_, p, opts_.context_json);
  net::co_spawn(ex_, read_loop(p, opts_.max_line), net::detached);
  return p;
}

void PythonHelper::kill(std::shared_ptr<Proc> const& p, std::string const& why) {
  {
    std::lock_guard lock(p->mu);
    if (p->dead) return;
    if (p->why.empty()) p->why = why;
  }
  log_.warn("python hook helper (pid {}): {}; killing it, the next call starts a new one", p->pid, why);
  ::kill(p->pid, SIGKILL);
  p->died(why);  // now, so that the next call already starts a new helper
}

net::awaitable<Result<json::object>> PythonHelper::call(json::object request) {
  using namespace net::experimental::awaitable_operators;
  auto ex = co_await net::this_coro::executor;
  auto proc = running();
  if (!proc) co_return proc.error();
  auto p = *proc;
  auto pending = std::make_shared<Pending>(ex);
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
  }
  request["id"] = id;
  {
    std::lock_guard lock(p->mu);
    if (p->dead) co_return Error{Errc::unavailable, fmt::format("the Python hook helper stopped: {}", p->why)};
    p->pending.emplace(id, pending);
  }
  enqueue(ex_, p, json::serialize(request) + "\n");
  net::steady_timer timer(ex, opts_.timeout + kGrace);
  // Named awaitables: GCC 12 mishandles temporaries inside co_await expressions.
  auto answered = pending->done.async_receive(net::use_awaitable);
  auto expiry = timer.async_wait(net::use_awaitable);
  auto winner = co_await (std::move(answered) || std::move(expiry));
  if (winner.index() == 0) {
    std::lock_guard lock(p->mu);
    co_return std::move(*pending->result);
  }
  {
    std::lock_guard lock(p->mu);
    p->pending.erase(id);
  }
  kill(p, fmt::format("a call got no answer within {} s", (opts_.timeout + kGrace).count()));
  co_return Error{Errc::unavailable,
                  fmt::format("the hook did not finish within {} s (python.hook_timeout_seconds)", opts_.timeout.count())};
}

std::function<net::awaitable<Result<std::string>>(json::object)> username_claim_hook(PythonHelper& helper,
                                                                                   std::vector<std::string> sections) {
  return [&helper, sections = std::move(sections)](json::object claims) -> net::awaitable<Result<std::string>> {
    json::array secs;
    for (auto const& s : sections) secs.emplace_back(s);
    json::object request{{"call", "username_claim"}, {"sections", std::move(secs)}, {"user_info", std::move(claims)}};
    auto answer = co_await helper.call(std::move(request));
    if (!answer) co_return answer.error();
    auto const* name = answer->if_contains("username");
    if (!name || !name->is_string()) co_return Error{Errc::bad_request, "username_claim gave no name"};
    co_return std::string(name->as_string());
  };
}

LoginService::AuthHook auth_hook(PythonHelper& helper, std::vector<std::string> sections) {
  return [&helper, sections = std::move(sections)](
             LoginService::AuthHookCall call) -> net::awaitable<Result<LoginService::AuthHookAnswer>> {
    json::array secs;
    for (auto const& s : sections) secs.emplace_back(s);
    json::object request{{"call", "post_auth"},
                         {"sections", std::move(secs)},
                         {"authentication", std::move(call.authentication)},
                         {"provider", std::move(call.provider)},
                         {"verdict", json::object{{"blocked", call.blocked}, {"allowed", call.allowed}}}};
    auto answer = co_await helper.call(std::move(request));
    if (!answer) co_return answer.error();
    LoginService::AuthHookAnswer out;
    if (auto const* r = answer->if_contains("refused"); r && r->is_bool() && r->as_bool()) {
      auto const* by = answer->if_contains("refused_by");
      out.refused_by = by && by->is_string() ? std::string(by->get_string()) : "post_auth_hook";
      co_return out;
    }
    auto const* a = answer->if_contains("authentication");
    if (!a || !a->is_object()) co_return Error{Errc::bad_request, "post_auth_hook must return the authentication dict or None"};
    out.authentication = a->as_object();
    co_return out;
  };
}

HandlerHook handler_hook(PythonHelper& helper, HookUserLookup users, spdlog::logger& log) {
  return [&helper, &log, users = std::move(users)](std::string trait,
                                                   HandlerCall call) -> net::awaitable<Result<json::value>> {
    json::object request{{"call", "handler"}, {"trait", trait}, {"sections", json::array{"JupyterHub"}}};
    if (call.user) {
      std::vector<std::string> const sections{"JupyterHub"};  // named: GCC 12 and braced coroutine arguments
      auto who = co_await hook_request(users, sections, *call.user, "");
      if (!who) co_return who.error();
      request["user"] = std::move((*who)["user"]);
      request["auth_state"] = std::move((*who)["auth_state"]);
    }
    json::object headers;
    for (auto& [k, v] : call.headers) headers[k] = std::move(v);
    request["request"] = json::object{{"method", call.method},       {"uri", call.uri},
                                      {"path", call.path},           {"remote_ip", call.remote_ip},
                                      {"host", call.host},           {"protocol", call.protocol},
                                      {"headers", std::move(headers)}};
    auto answer = co_await helper.call(std::move(request));
    if (!answer) {
      log.warn("JupyterHub.{} for {}: {}", trait, call.user ? *call.user : std::string("a visitor"),
               answer.error().message);
      co_return Error{Errc::config, answer.error().message};
    }
    auto const* v = answer->if_contains("value");
    if (!v) co_return Error{Errc::config, fmt::format("JupyterHub.{}: no value came back", trait)};
    co_return *v;
  };
}

// ---- the spawner -----------------------------------------------------------------------

net::awaitable<Result<json::object>> hook_request(HookUserLookup const& users, std::vector<std::string> const& sections,
                                                  std::string user, std::string server_name) {
  auto found = co_await users(user);
  if (!found) co_return found.error();
  json::array secs, groups;
  for (auto const& s : sections) secs.emplace_back(s);
  for (auto const& g : found->groups) groups.emplace_back(g);
  json::object who{{"name", user}, {"admin", found->admin}, {"groups", std::move(groups)}};
  json::object base{{"sections", std::move(secs)}, {"user", std::move(who)}, {"server_name", std::move(server_name)}};
  base["auth_state"] = found->auth_state ? json::value(*found->auth_state) : json::value(nullptr);
  co_return base;
}

std::function<net::awaitable<Result<json::value>>(spawn::OptionsRequest)> profile_list_hook(
    PythonHelper& helper, std::vector<std::string> sections, HookUserLookup users, spdlog::logger& log) {
  return [&helper, &log, sections = std::move(sections),
          users = std::move(users)](spawn::OptionsRequest who) -> net::awaitable<Result<json::value>> {
    auto request = co_await hook_request(users, sections, who.user, who.server_name);
    if (!request) co_return request.error();
    (*request)["call"] = "profile_list";
    (*request)["user_options"] = who.last_user_options;
    auto answer = co_await helper.call(std::move(*request));
    if (!answer) {
      log.warn("profile_list for {}: {}", who.user, answer.error().message);
      co_return Error{Errc::config, answer.error().message};
    }
    auto const* list = answer->if_contains("profile_list");
    if (!list) co_return Error{Errc::config, "profile_list: no list came back"};
    co_return *list;
  };
}

std::function<net::awaitable<void>(std::string, std::string, json::object)> post_stop_hook(
    PythonHelper& helper, std::vector<std::string> sections, HookUserLookup users, spdlog::logger& log) {
  return [&helper, &log, sections = std::move(sections), users = std::move(users)](
             std::string user, std::string server_name, json::object user_options) -> net::awaitable<void> {
    auto request = co_await hook_request(users, sections, user, server_name);
    if (!request) {
      log.warn("post_stop_hook for {}: {}", user, request.error().message);
      co_return;
    }
    (*request)["call"] = "post_stop";
    (*request)["user_options"] = std::move(user_options);
    auto answer = co_await helper.call(std::move(*request));
    if (!answer) log.warn("post_stop_hook for {}'s server '{}' failed: {}", user, server_name, answer.error().message);
  };
}

net::awaitable<Result<std::string>> PythonHookSpawner::options_form(spawn::OptionsRequest who) {
  if (!hooks_.options_form) co_return co_await inner_.options_form(std::move(who));
  auto request = co_await hook_request(users_, sections_, who.user, who.server_name);
  if (!request) co_return request.error();
  (*request)["call"] = "options_form";
  (*request)["user_options"] = who.last_user_options;
  auto answer = co_await helper_.call(std::move(*request));
  if (!answer) {
    log_.warn("options_form for {}: {}", who.user, answer.error().message);
    co_return Error{Errc::config, answer.error().message};
  }
  auto const* form = answer->if_contains("form");
  // The configuration's own HTML, as JupyterHub renders it: not escaped.
  co_return form && form->is_string() ? std::string(form->as_string()) : std::string();
}

net::awaitable<Result<json::object>> PythonHookSpawner::options_from_form(
    spawn::OptionsRequest who, std::vector<std::pair<std::string, std::string>> form) {
  if (!hooks_.options_from_form) co_return co_await inner_.options_from_form(std::move(who), std::move(form));
  auto request = co_await hook_request(users_, sections_, who.user, who.server_name);
  if (!request) co_return request.error();
  // JupyterHub hands options_from_form the form as {name: [values]}.
  json::object formdata;
  for (auto const& [k, v] : form) {
    auto& slot = formdata[k];
    if (!slot.is_array()) slot = json::array{};
    slot.as_array().emplace_back(v);
  }
  (*request)["call"] = "options_from_form";
  (*request)["formdata"] = std::move(formdata);
  auto answer = co_await helper_.call(std::move(*request));
  if (!answer) {
    log_.warn("options_from_form for {}: {}", who.user, answer.error().message);
    co_return Error{Errc::bad_request, answer.error().message};
  }
  auto const* options = answer->if_contains("user_options");
  if (!options || !options->is_object()) co_return Error{Errc::bad_request, "options_from_form: no dict came back"};
  co_return options->as_object();
}

Result<std::vector<std::string>> apply_hook_answer(json::object const& answer, spawn::SpawnRequest& req,
                                                   std::function<bool(std::string_view)> const& applies_trait) {
  std::vector<std::string> not_applied;
  if (auto const* env = answer.if_contains("environment")) {
    if (!env->is_object()) return Error{Errc::bad_request, "hook answer: environment is not an object"};
    for (auto const& [k, v] : env->as_object()) {
      if (!v.is_string()) return Error{Errc::bad_request, fmt::format("hook answer: environment[{}] is not a string", std::string(k))};
      req.hook_environment[std::string(k)] = std::string(v.as_string());
    }
  }
  if (auto const* removed = answer.if_contains("removed"); removed && removed->is_array())
    for (auto const& k : removed->as_array())
      if (k.is_string()) req.hook_environment_removed.emplace_back(k.as_string());
  if (auto const* uo = answer.if_contains("user_options")) {
    if (!uo->is_object()) return Error{Errc::bad_request, "hook answer: user_options is not a dict"};
    req.user_options = uo->as_object();
  }
  if (auto const* traits = answer.if_contains("traits"); traits && traits->is_object())
    for (auto const& [k, v] : traits->as_object()) {
      if (applies_trait && applies_trait(k) && !(v.is_object() && v.as_object().contains("$unsupported")))
        req.trait_overrides[k] = v;
      else
        not_applied.emplace_back(k);
    }
  return not_applied;
}

PythonHookSpawner::PythonHookSpawner(spawn::Spawner& inner, PythonHelper& helper,
                                     std::vector<std::string> sections, SpawnHooks hooks,
                                     HookUserLookup users, spdlog::logger& log)
    : inner_(inner),
      helper_(helper),
      sections_(std::move(sections)),
      hooks_(hooks),
      users_(std::move(users)),
      log_(log) {}

net::awaitable<Result<spawn::Started>> PythonHookSpawner::start(spawn::SpawnRequest req,
                                                                spawn::ProgressSink& sink) {
  auto who = co_await hook_request(users_, sections_, req.user, req.server_name);
  if (!who) co_return Error{Errc::unavailable, fmt::format("before the spawn hooks: {}", who.error().message)};
  json::object base = std::move(*who);

  if (hooks_.spawn) {
    json::object request = base;
    request["call"] = "spawn";
    request["user_options"] = req.user_options;
    auto const t0 = std::chrono::steady_clock::now();
    auto answer = co_await helper_.call(std::move(request));
    auto const ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    if (!answer) {
      log_.warn("spawn of {}: Python hook failed after {} ms: {}", req.user, ms, answer.error().message);
      co_return Error{Errc::config, answer.error().message};
    }
    auto skipped = apply_hook_answer(*answer, req, hooks_.applies_trait);
    if (!skipped) co_return skipped.error();
    log_.info("spawn of {}: Python hooks ran in {} ms", req.user, ms);
    if (!skipped->empty())
      log_.warn("spawn of {}: the Python hook changed spawner traits this spawner does not apply per server: {}",
                req.user, fmt::join(*skipped, ", "));
  }
  if (hooks_.modify_pod) {
    base["user_options"] = req.user_options;
    req.modify_pod = [&helper = helper_, &log = log_, user = req.user,
                      base = std::move(base)](json::object pod) -> net::awaitable<Result<json::object>> {
      json::object request = base;
      request["call"] = "modify_pod";
      request["pod"] = std::move(pod);
      auto answer = co_await helper.call(std::move(request));
      if (!answer) {
        log.warn("spawn of {}: modify_pod_hook failed: {}", user, answer.error().message);
        co_return Error{Errc::config, answer.error().message};
      }
      auto const* changed = answer->if_contains("pod");
      if (!changed || !changed->is_object()) co_return Error{Errc::config, "modify_pod_hook: no pod came back"};
      co_return changed->as_object();
    };
  }
  co_return co_await inner_.start(std::move(req), sink);
}

}  // namespace nbhub::hub
