#pragma once
// The ProcessRunner seam (STYLE.md §5): starting, watching and signalling local processes.
// LocalSpawner talks to the OS only through it; PosixProcessRunner is the real thing.
//
// Which calls block. `lookup_user` (NSS may ask LDAP), `launch` (fork, open, waiting for
// exec) and `group_alive` (may scan /proc) block and must run on the blocking pool.
// `poll`, `signal_group` and `forget` make only non-blocking system calls (waitpid with
// WNOHANG, kill, reading one procfs file) and may run on any thread.
//
// Thread-safety: every method may be called concurrently from any thread.
#include <boost/asio/any_io_executor.hpp>

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace spdlog { class logger; }

namespace nbhub::spawn {

// What the password and group databases say about a system user.
struct SystemUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, as initgroups() would set them
  std::string home;
  std::string shell;
};

struct LaunchSpec {
  std::string path;               // the executable, already resolved (no PATH search here)
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // "NAME=value"; the child gets exactly these
  std::string log_path;           // stdout and stderr are appended here; created 0600
  std::string log_banner;         // written to the log before the command starts
  std::optional<SystemUser> user;  // switch to this user after fork (needs root)
  std::string cwd;                 // "" = inherit nbhub's working directory
  // Whether failing to enter `cwd` fails the launch. Off, the child starts in "/" instead
  // (a system user's missing home, as JupyterHub); on for a home nbhub made itself, where "/"
  // would show the server the whole file system.
  bool cwd_required = false;
  // SIGTERM to the child's group leader when nbhub dies (PR_SET_PDEATHSIG): for a helper that
  // must not outlive the hub that started it, such as a managed service that another replica
  // starts in its place. Servers leave it off: they outlive restarts and are adopted.
  // (Strictly the forking thread's death: launch() runs on the blocking pool, whose threads
  // live as long as the hub.)
  bool die_with_hub = false;
};

// Identifies a process across nbhub restarts. `start_ticks` (field 22 of /proc/PID/stat)
// tells a reused PID apart from ours; 0 = unknown, not checked.
struct ProcessRef {
  pid_t pid = 0;
  pid_t pgid = 0;  // = pid: the child calls setsid()
  std::uint64_t start_ticks = 0;
};

struct Launched {
  ProcessRef ref;
  std::uint64_t log_offset = 0;  // where this run's output starts in the log (after the banner)
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;

  // Blocking. Errc::config for a user that does not exist, Errc::unavailable when the
  // databases cannot be read.
  virtual Result<SystemUser> lookup_user(std::string const& name) = 0;

  // Blocking. Forks; the child starts a new session (so its process group id is its pid),
  // resets signal mask and dispositions, switches user, redirects stdin from /dev/null and
  // stdout+stderr to the log, and execs. Returns once exec succeeded, or
  // Errc::unavailable with the failing step and errno ("could not run /usr/bin/x:
  // Permission denied"); Errc::config when the log file cannot be opened.
  virtual Result<Launched> launch(LaunchSpec const& spec) = 0;

  // Non-blocking. nullopt = running. Otherwise the exit status: the exit code, or minus the
  // signal number. For a process this runner did not launch (adopted after a restart) the
  // status is unknown: 0. A zombie counts as exited.
  virtual std::optional<int> poll(ProcessRef const& p) = 0;

  // Non-blocking. Sends `sig` to the process group. False when no process was there.
  virtual bool signal_group(ProcessRef const& p, int sig) = 0;

  // Blocking (may read /proc). True while any member of the process group is alive
  // (zombies do not count).
  virtual bool group_alive(ProcessRef const& p) = 0;

  // The process is stopped; drop its bookkeeping. A child not yet reaped is reaped by the
  // reaper when it exits.
  virtual void forget(ProcessRef const& p) = 0;
};

// The POSIX implementation. Children are reaped as they exit: a SIGCHLD signal_set on `ex`
// calls waitpid(pid, WNOHANG) for each of *our* children only (never waitpid(-1), which would
// steal other components' children), so no zombie outlives its SIGCHLD. The io_context behind
// `ex` must run while children exist; `log` must outlive the runner.
class PosixProcessRunner final : public ProcessRunner {
 public:
  PosixProcessRunner(boost::asio::any_io_executor ex, spdlog::logger& log);
  ~PosixProcessRunner() override;
  PosixProcessRunner(PosixProcessRunner const&) = delete;
  PosixProcessRunner& operator=(PosixProcessRunner const&) = delete;

  Result<SystemUser> lookup_user(std::string const& name) override;
  Result<Launched> launch(LaunchSpec const& spec) override;
  std::optional<int> poll(ProcessRef const& p) override;
  bool signal_group(ProcessRef const& p, int sig) override;
  bool group_alive(ProcessRef const& p) override;
  void forget(ProcessRef const& p) override;

  // Children launched and not yet forgotten (exited or not).
  std::size_t children_for_test() const;

  struct State;  // children table and the SIGCHLD set; shared with the signal handler

 private:
  spdlog::logger& log_;
  std::shared_ptr<State> state_;
};

}  // namespace nbhub::spawn
