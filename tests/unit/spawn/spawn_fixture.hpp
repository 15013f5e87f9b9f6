#pragma once
// Shared pieces of the spawn tests: an io_context driven on the test thread (run_sync), a
// blocking pool, the real PosixProcessRunner, a private log directory, and a teardown that
// SIGKILLs every process group a test started, so no test leaves a process behind.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "http/client_impl.hpp"
#include "spawn/local_spawner.hpp"
#include "spawn/proc_stat.hpp"
#include "spawn/process.hpp"
#include "unit/http/test_server.hpp"

namespace nbhub::spawn::test {

using namespace std::chrono_literals;
using http::test::run_sync;

// Collects progress events and the started() call.
class RecordingSink final : public ProgressSink {
 public:
  std::vector<SpawnProgress> events;
  std::optional<Started> started_with;
  void progress(SpawnProgress const& p) override { events.push_back(p); }
  void started(Started const& s) override { started_with = s; }
  bool saw(std::string_view text) const {
    for (auto const& e : events)
      if (e.message.find(text) != std::string::npos) return true;
    return false;
  }
};

inline std::string slurp(std::string const& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline pid_t pid_of(boost::json::object const& state) {
  return static_cast<pid_t>(state.at("pid").as_int64());
}

// True while the process exists and is not a zombie.
inline bool process_alive(pid_t pid) {
  auto st = read_proc_stat(pid);
  return st && st->state != 'Z' && st->state != 'X';
}

class SpawnFixture : public ::testing::Test {
 protected:
  SpawnFixture() : log_("spawn", std::make_shared<spdlog::sinks::ostream_sink_mt>(logged_)) {
    log_.set_level(spdlog::level::debug);
    char tmpl[] = "/tmp/nbhub-spawn-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    cfg_.log_dir = dir_ + "/logs";
    cfg_.home_dir_template = dir_ + "/homes/{username}";
    cfg_.allow_root_servers = true;  // these machines run the tests as root
    cfg_.term_timeout = 2s;
    cfg_.kill_timeout = 2s;
  }

  ~SpawnFixture() override {
    for (pid_t pgid : groups_) ::kill(-pgid, SIGKILL);
    spawners_.clear();
    runners_.clear();
    // Reap what is left (blocking: SIGKILL is certain to end them). Orphans would otherwise
    // become zombies of a PID 1 that, in some containers, never reaps.
    for (pid_t pgid : groups_) {
      int st;
      while (::waitpid(-pgid, &st, 0) > 0 || errno == EINTR) {
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // A fresh runner + spawner pair (a "restart" makes a second one).
  LocalSpawner& make_spawner(EnvLookup env = process_env_lookup()) {
    runners_.push_back(std::make_unique<PosixProcessRunner>(ioc_.get_executor(), log_));
    spawners_.push_back(std::make_unique<LocalSpawner>(cfg_, *runners_.back(), pool_, clock_,
                                                       log_, std::move(env)));
    return *spawners_.back();
  }

  SpawnRequest request(std::string user = "alice", std::string server = "") {
    SpawnRequest r;
    r.user = user;
    r.server_name = server;
    r.service_prefix = "/user/" + user + "/" + (server.empty() ? "" : server + "/");
    return r;
  }

  Result<Started> start(LocalSpawner& s, SpawnRequest req) {
    auto r = run_sync(ioc_, s.start(std::move(req), sink_));
    if (r) groups_.push_back(static_cast<pid_t>(r->state.at("pgid").as_int64()));
    return r;
  }

  // Polls until the server exits (bounded); the exit status or nullopt on timeout.
  std::optional<int> wait_exit(LocalSpawner& s, boost::json::object const& state,
                               std::chrono::milliseconds limit = 5s) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (auto st = run_sync(ioc_, s.poll(state))) return st;
      std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
  }

  boost::asio::io_context ioc_;
  boost::asio::thread_pool pool_{2};
  SystemClock clock_;
  std::ostringstream logged_;
  spdlog::logger log_;
  std::string dir_;
  SpawnerConfig cfg_;
  RecordingSink sink_;
  std::vector<pid_t> groups_;
  std::vector<std::unique_ptr<PosixProcessRunner>> runners_;
  std::vector<std::unique_ptr<LocalSpawner>> spawners_;
};

}  // namespace nbhub::spawn::test
