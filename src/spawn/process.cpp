#include "spawn/process.hpp"

#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <spdlog/logger.h>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "spawn/proc_stat.hpp"

namespace nbhub::spawn {

namespace net = boost::asio;

namespace {

int decode_wait_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return -WTERMSIG(st);
  return 0;
}

// Closes a descriptor on scope exit (the parent's copies of the child's stdio and pipe).
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Children table and reaper.

struct PosixProcessRunner::State : std::enable_shared_from_this<State> {
  struct Child {
    std::optional<int> status;  // set once reaped
    bool forgotten = false;     // erase when reaped
  };

  explicit State(net::any_io_executor ex) : signals(ex, SIGCHLD) {}

  std::mutex mu;
  std::map<pid_t, Child> children;  // guarded by mu
  net::signal_set signals;          // guarded by mu (armed and cancelled under it)
  bool closing = false;             // guarded by mu

  // waitpid(WNOHANG) on one child; records its status. Requires mu.
  void reap_locked(pid_t pid, Child& c) {
    if (c.status) return;
    int st = 0;
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) c.status = decode_wait_status(st);
    else if (r < 0 && errno == ECHILD) c.status = 0;  // reaped elsewhere: status unknown
  }

  void reap_all_locked() {
    for (auto it = children.begin(); it != children.end();) {
      reap_locked(it->first, it->second);
      if (it->second.status && it->second.forgotten) it = children.erase(it);
      else ++it;
    }
  }

  void arm_locked() {
    if (closing) return;
    signals.async_wait([self = shared_from_this()](boost::system::error_code ec, int) {
      if (ec) return;  // cancelled: the runner is gone
      std::lock_guard lock(self->mu);
      self->reap_all_locked();
      self->arm_locked();
    });
  }
};

PosixProcessRunner::PosixProcessRunner(net::any_io_executor ex, spdlog::logger& log)
    : log_(log), state_(std::make_shared<State>(std::move(ex))) {
  std::lock_guard lock(state_->mu);
  state_->arm_locked();
}

PosixProcessRunner::~PosixProcessRunner() {
  std::lock_guard lock(state_->mu);
  state_->closing = true;
  boost::system::error_code ignored;
  state_->signals.cancel(ignored);  // the pending handler releases the State
}

std::size_t PosixProcessRunner::children_for_test() const {
  std::lock_guard lock(state_->mu);
  return state_->children.size();
}

// ---------------------------------------------------------------------------------------------
// Users.

Result<SystemUser> PosixProcessRunner::lookup_user(std::string const& name) {
  long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(hint > 0 ? static_cast<std::size_t>(hint) : 16384);
  passwd pw{};
  passwd* found = nullptr;
  int rc;
  while ((rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found)) == ERANGE &&
         buf.size() < (1u << 20))
    buf.resize(buf.size() * 2);
  if (rc != 0)
    return Error{Errc::unavailable, fmt::format("looking up system user '{}': {}; check the "
                                                "system's user database (NSS)",
                                                name, std::strerror(rc))};
  if (!found)
    return Error{Errc::config, fmt::format("system user '{}' does not exist; create it or turn "
                                           "off spawner.run_as_system_user",
                                           name)};
  SystemUser u{name, pw.pw_uid, pw.pw_gid, {}, pw.pw_dir ? pw.pw_dir : "",
               pw.pw_shell ? pw.pw_shell : ""};
  int n = 32;
  for (;;) {
    u.groups.resize(static_cast<std::size_t>(n));
    int want = n;
    if (::getgrouplist(name.c_str(), u.gid, u.groups.data(), &want) >= 0) {
      u.groups.resize(static_cast<std::size_t>(want));
      break;
    }
    if (want <= n) want = n * 2;  // some libcs do not report the size needed
    if (want > 65536)
      return Error{Errc::unavailable, fmt::format("system user '{}' is in too many groups", name)};
    n = want;
  }
  return u;
}

// ---------------------------------------------------------------------------------------------
// Launch.

namespace {

// Where the child failed, reported through the exec pipe.
enum class Step : int { setsid, stdio, setgroups, setgid, setuid, chdir, exec };

struct ChildError {
  Step step;
  int err;
};

char const* describe(Step s) {
  switch (s) {
    case Step::setsid: return "could not start a new session (setsid)";
    case Step::stdio: return "could not redirect stdin/stdout/stderr";
    case Step::setgroups: return "could not set the supplementary groups (setgroups)";
    case Step::setgid: return "could not switch group (setgid)";
    case Step::setuid: return "could not switch user (setuid)";
    case Step::chdir: return "could not enter the working directory";
    case Step::exec: return "could not run";
  }
  return "failed";
}

// Runs in the forked child of a multi-threaded process: async-signal-safe calls only (no
// allocation, no locks, no stdio). Everything it needs was prepared before fork().
[[noreturn]] void child_main(char const* path, char* const* argv, char* const* envp, int log_fd,
                             int null_fd, int err_fd, SystemUser const* user, char const* cwd,
                             bool cwd_required, bool die_with_hub, pid_t hub_pid, int max_fd) {
  auto fail = [&](Step step) {
    ChildError e{step, errno};
    (void)!::write(err_fd, &e, sizeof e);
    ::_exit(127);
  };
  // Asio's thread pools block every signal in their threads, and a blocked or ignored
  // signal survives exec: without this the server would never see SIGTERM. Dispositions
  // first: unblocked, a pending signal would run nbhub's handler (Asio's SIGCHLD handler
  // writes to nbhub's signal pipe) in the child.
  // The raw system call, because glibc's signal() refuses its two internal real-time
  // signals (32, 33), and an ignored 32 inherited from whoever started nbhub would survive.
  struct KernelSigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    unsigned long mask;
  } dfl{SIG_DFL, 0, nullptr, 0};
  for (long sig = 1; sig <= 64; ++sig)  // SIGKILL/SIGSTOP: EINVAL, fine
    ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  // Own session and process group: stop() signals the whole group, and the hub's terminal
  // signals (Ctrl-C on nbhub) do not reach servers, as JupyterHub's start_new_session=True.
  if (::setsid() < 0) fail(Step::setsid);
  if (::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0) fail(Step::stdio);
  if (user) {
    // Groups first, uid last: after setuid we may no longer change either.
    if (::setgroups(user->groups.size(), user->groups.data()) < 0) fail(Step::setgroups);
    if (::setgid(user->gid) < 0) fail(Step::setgid);
    if (::setuid(user->uid) < 0) fail(Step::setuid);
  }
  // After the user switch, which clears the setting. The hub may have died before this ran.
  if (die_with_hub && (::prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || ::getppid() != hub_pid)) ::_exit(1);
  if (cwd && ::chdir(cwd) < 0) {
    if (cwd_required) fail(Step::chdir);
    // As JupyterHub's _try_setcwd: a missing home is not fatal.
    static constexpr char kMsg[] = "nbhub: cannot enter the home directory; starting in /\n";
    (void)!::write(2, kMsg, sizeof kMsg - 1);
    (void)!::chdir("/");
  }
  // Nothing of nbhub's (listening sockets, database, other servers' logs) may leak into the
  // server: mark every other descriptor close-on-exec (err_fd already is).
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  ::execve(path, argv, envp);
  fail(Step::exec);
  ::_exit(127);  // not reached
}

std::vector<char*> c_strings(std::vector<std::string> const& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto const& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

Result<Launched> PosixProcessRunner::launch(LaunchSpec const& spec) {
  if (spec.argv.empty() || spec.path.empty())
    return Error{Errc::internal, "launch: empty command"};
  Fd log{::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
                0600)};
  if (log.fd < 0)
    return Error{Errc::config, fmt::format("cannot open the server log {}: {}; check "
                                           "spawner.log_dir",
                                           spec.log_path, std::strerror(errno))};
  ::fchmod(log.fd, 0600);  // also when an older file was created with other modes
  if (!spec.log_banner.empty())
    (void)!::write(log.fd, spec.log_banner.data(), spec.log_banner.size());
  struct stat st {};
  Launched out;
  if (::fstat(log.fd, &st) == 0) out.log_offset = static_cast<std::uint64_t>(st.st_size);

  Fd null{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
  int pipe_fds[2];
  if (null.fd < 0 || ::pipe2(pipe_fds, O_CLOEXEC) < 0)
    return Error{Errc::unavailable, fmt::format("cannot prepare to run {}: {}", spec.path,
                                                std::strerror(errno))};
  Fd err_read{pipe_fds[0]}, err_write{pipe_fds[1]};

  auto argv = c_strings(spec.argv);
  auto envp = c_strings(spec.env);
  long open_max = ::sysconf(_SC_OPEN_MAX);
  int max_fd = open_max > 0 && open_max < 65536 ? static_cast<int>(open_max) : 65536;
  SystemUser const* user = spec.user ? &*spec.user : nullptr;
  char const* cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();

  pid_t const hub_pid = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0)
    return Error{Errc::unavailable, fmt::format("cannot start {}: fork failed: {}", spec.path,
                                                std::strerror(errno))};
  if (pid == 0)
    child_main(spec.path.c_str(), argv.data(), envp.data(), log.fd, null.fd, err_write.fd, user,
               cwd, spec.cwd_required, spec.die_with_hub, hub_pid, max_fd);

  ::close(err_write.fd);
  err_write.fd = -1;
  ChildError ce{};
  ssize_t n;
  do n = ::read(err_read.fd, &ce, sizeof ce);
  while (n < 0 && errno == EINTR);
  if (n == 0) {  // EOF: the pipe closed on exec
    out.ref = {pid, pid, process_start_ticks(pid).value_or(0)};
    log_.debug("launched {} as pid {}", spec.path, pid);
    std::lock_guard lock(state_->mu);
    state_->children[pid] = {};
    return out;
  }
  // The child is exiting (127) and is not in the table, so the reaper does not race us.
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string what =
      n != static_cast<ssize_t>(sizeof ce)
          ? fmt::format("could not run {}: the child died before exec", spec.path)
      : ce.step == Step::chdir
          ? fmt::format("{} {}: {}", describe(ce.step), spec.cwd, std::strerror(ce.err))
          : fmt::format("{} {}: {}", describe(ce.step), spec.path, std::strerror(ce.err));
  if (ce.step == Step::setuid || ce.step == Step::setgid || ce.step == Step::setgroups)
    what += fmt::format(" (as system user '{}'; nbhub must run as root for "
                        "spawner.run_as_system_user)",
                        user ? user->name : "?");
  std::string line = "nbhub: " + what + "\n";
  (void)!::write(log.fd, line.data(), line.size());
  return Error{Errc::unavailable, what};
}

// ---------------------------------------------------------------------------------------------
// Watching and signalling.

namespace {

// The process behind `p` is gone or another process now has its PID.
bool replaced_or_gone(ProcessRef const& p, std::optional<ProcStat> const& st) {
  if (!st) return true;
  return p.start_ticks != 0 && st->start_ticks != p.start_ticks;
}

// Guards every kill(): a bad state must never signal init, everything (-1) or ourselves.
bool safe_group(ProcessRef const& p) { return p.pgid > 1 && p.pid > 1 && p.pgid != ::getpgrp(); }

}  // namespace

std::optional<int> PosixProcessRunner::poll(ProcessRef const& p) {
  if (p.pid <= 1) return 0;
  {
    std::lock_guard lock(state_->mu);
    auto it = state_->children.find(p.pid);
    if (it != state_->children.end()) {
      state_->reap_locked(p.pid, it->second);
      return it->second.status;
    }
  }
  // Not launched by this runner (adopted after a restart): the status is unknown.
  auto st = read_proc_stat(p.pid);
  if (replaced_or_gone(p, st)) return 0;
  if (st->state == 'Z' || st->state == 'X') {
    // Exited and not yet reaped. If it is our child after all (a second runner in the same
    // process), reap it; the start time matched, so this is the process the state names.
    int status = 0;
    if (::waitpid(p.pid, &status, WNOHANG) == p.pid) return decode_wait_status(status);
    return 0;
  }
  return std::nullopt;
}

bool PosixProcessRunner::signal_group(ProcessRef const& p, int sig) {
  if (!safe_group(p)) return false;
  // A live leader with another start time means the PID (and maybe the group id) was reused:
  // leave it alone. A dead leader is fine: the group id cannot be reused while members live.
  auto leader = read_proc_stat(p.pid);
  if (leader && p.start_ticks != 0 && leader->start_ticks != p.start_ticks) return false;
  return ::kill(-p.pgid, sig) == 0;
}

bool PosixProcessRunner::group_alive(ProcessRef const& p) {
  if (!safe_group(p)) return false;
  if (::kill(-p.pgid, 0) < 0 && errno == ESRCH) return false;
  auto leader = read_proc_stat(p.pid);
  if (leader && p.start_ticks != 0 && leader->start_ticks != p.start_ticks) return false;
  // kill(-pgid, 0) also finds zombies, which a non-reaping PID 1 may keep around forever.
  return any_live_member(p.pgid);
}

void PosixProcessRunner::forget(ProcessRef const& p) {
  std::lock_guard lock(state_->mu);
  auto it = state_->children.find(p.pid);
  if (it == state_->children.end()) return;
  state_->reap_locked(p.pid, it->second);
  if (it->second.status) state_->children.erase(it);
  else it->second.forgotten = true;
}

}  // namespace nbhub::spawn
