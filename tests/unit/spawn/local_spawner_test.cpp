// LocalSpawner with real processes: failures at start, exits, stop escalation, process groups,
// adoption after a restart, the environment and the log file.
#include <sys/stat.h>

#include "spawn/readiness.hpp"
#include "unit/spawn/spawn_fixture.hpp"

namespace nbhub::spawn::test {
namespace {

class LocalSpawnerTest : public SpawnFixture {
 protected:
  Result<ServerReady> wait_ready(LocalSpawner& s, Started const& st, std::string prefix,
                                 std::chrono::milliseconds timeout = 2s) {
    http::BeastHttpClient client(ioc_, http_cfg_, log_);
    ReadinessPolicy policy{timeout};
    return run_sync(ioc_, wait_until_ready(client, s, st.state, st.url + prefix, policy, clock_,
                                           log_));
  }
  config::HttpClientConfig http_cfg_;
};

// Whether `pid`, a shell that sets a trap and then execs sleep, has become `sleep` within 5 s:
// only then is the trap known to be set (a fixed pause was too short on a busy machine, where
// the signal came first and ended the shell at once).
bool became_sleep(pid_t pid) {
  auto comm = "/proc/" + std::to_string(pid) + "/comm";
  for (int i = 0; i < 500 && slurp(comm) != "sleep\n"; ++i) std::this_thread::sleep_for(10ms);
  return slurp(comm) == "sleep\n";
}

TEST_F(LocalSpawnerTest, MissingCommandFailsAtStartNamingIt) {
  cfg_.cmd = {"nbhub-no-such-command"};
  auto& s = make_spawner();
  auto r = start(s, request());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("command not found: 'nbhub-no-such-command'"),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("spawner.cmd"), std::string::npos);
}

TEST_F(LocalSpawnerTest, MissingAbsoluteCommandFailsAtStart) {
  cfg_.cmd = {dir_ + "/absent"};
  auto r = start(make_spawner(), request());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(dir_ + "/absent does not exist"), std::string::npos);
}

TEST_F(LocalSpawnerTest, CommandExitingAtOnceIsReportedWithStatus) {
  cfg_.cmd = {"/bin/false"};
  auto& s = make_spawner();
  auto st = start(s, request());
  ASSERT_TRUE(st) << st.error().message;
  auto r = wait_ready(s, *st, "/user/alice/");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("exited with status 1 before answering"), std::string::npos)
      << r.error().message;
}

TEST_F(LocalSpawnerTest, ExitErrorCarriesStatusAndLastOutput) {
  cfg_.cmd = {"python3", "-c", "import sys; print('boom', flush=True); sys.exit(3)"};
  auto& s = make_spawner();
  auto st = start(s, request());
  ASSERT_TRUE(st) << st.error().message;
  auto r = wait_ready(s, *st, "/user/alice/");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("exited with status 3"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("its last output:\nboom"), std::string::npos)
      << r.error().message;
  // The banner of this run is not part of the tail, earlier runs are not either.
  EXPECT_EQ(r.error().message.find("---- nbhub"), std::string::npos);
}

TEST_F(LocalSpawnerTest, KilledServerReportsTheSignal) {
  cfg_.cmd = {"sleep", "600"};
  auto& s = make_spawner();
  auto st = start(s, request());
  ASSERT_TRUE(st);
  ::kill(pid_of(st->state), SIGKILL);
  auto r = wait_ready(s, *st, "/user/alice/");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("was killed by signal 9 (KILL)"), std::string::npos)
      << r.error().message;
}

TEST_F(LocalSpawnerTest, StateNamesProcessGroupPortAndLog) {
  cfg_.cmd = {"sleep", "600"};
  auto& s = make_spawner();
  auto st = start(s, request("bob", "gpu"));
  ASSERT_TRUE(st);
  auto const& state = st->state;
  pid_t pid = pid_of(state);
  EXPECT_EQ(state.at("pgid").as_int64(), pid);
  EXPECT_EQ(::getpgid(pid), pid);  // own process group (and session)
  EXPECT_EQ(::getsid(pid), pid);
  auto port = state.at("port").as_int64();
  EXPECT_EQ(st->url, "http://127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(state.at("log").as_string(), dir_ + "/logs/bob-gpu.log");
  EXPECT_GT(state.at("start_ticks").as_int64(), 0);
  EXPECT_GT(state.at("started_at").as_int64(), 0);
  EXPECT_EQ(run_sync(ioc_, s.poll(state)), std::nullopt);
  ASSERT_TRUE(sink_.saw("Server process started"));
}

// Asio's pools block all signals in their threads; a child forked there must not inherit that,
// or SIGTERM would never reach the server.
TEST_F(LocalSpawnerTest, ChildHasNoBlockedOrIgnoredSignals) {
  cfg_.cmd = {"sleep", "600"};
  auto& s = make_spawner();
  auto st = start(s, request());
  ASSERT_TRUE(st);
  std::string status = slurp("/proc/" + std::to_string(pid_of(st->state)) + "/status");
  EXPECT_NE(status.find("SigBlk:\t0000000000000000"), std::string::npos) << status;
  EXPECT_NE(status.find("SigIgn:\t0000000000000000"), std::string::npos) << status;
}

TEST_F(LocalSpawnerTest, StopEndsTheWholeProcessGroupAndIsIdempotent) {
  // A shell with two children: all are in the server's process group. (Not a background
  // job: a non-interactive shell starts those with SIGINT ignored.)
  cfg_.cmd = {"/bin/sh", "-c", "sleep 600 | sleep 601"};
  auto& s = make_spawner();
  auto st = start(s, request());
  ASSERT_TRUE(st);
  pid_t pgid = pid_of(st->state);
  std::this_thread::sleep_for(100ms);  // let the shell fork its background child
  ASSERT_TRUE(any_live_member(pgid));
  auto stopped = run_sync(ioc_, s.stop(st->state, false));
  ASSERT_TRUE(stopped) << stopped.error().message;
  EXPECT_FALSE(any_live_member(pgid));
  EXPECT_FALSE(process_alive(pgid));
  // Stopped and forgotten: "not running", status unknown, as JupyterHub after clear_state().
  EXPECT_EQ(run_sync(ioc_, s.poll(st->state)), std::optional<int>(0));
  EXPECT_EQ(logged_.str().find("SIGTERM"), std::string::npos);  // SIGINT was enough
  EXPECT_TRUE(run_sync(ioc_, s.stop(st->state, false)));  // again: nothing to do
  EXPECT_TRUE(run_sync(ioc_, s.stop(boost::json::object{}, true)));
  EXPECT_EQ(runners_.back()->children_for_test(), 0u);
}

TEST_F(LocalSpawnerTest, StopSendsSigtermWhenSigintIsIgnored) {
  cfg_.interrupt_timeout = 1s;
  cfg_.cmd = {"/bin/sh", "-c", "trap '' INT; exec sleep 600"};  // SIG_IGN survives exec
  auto& s = make_spawner();
  auto st = start(s, request());
  ASSERT_TRUE(st);
  ASSERT_TRUE(became_sleep(pid_of(st->state)));
  auto t0 = std::chrono::steady_clock::now();
  auto stopped = run_sync(ioc_, s.stop(st->state, false));
  ASSERT_TRUE(stopped) << stopped.error().message;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_FALSE(process_alive(pid_of(st->state)));
  EXPECT_NE(logged_.str().find("after SIGINT; sending SIGTERM"), std::string::npos);
  EXPECT_EQ(logged_.str().find("SIGKILL"), std::string::npos);
}

TEST_F(LocalSpawnerTest, StopEscalatesToSigkillWhenIntAndTermAreIgnored) {
  cfg_.interrupt_timeout = 1s;
  cfg_.term_timeout = 1s;
  cfg_.cmd = {"/bin/sh", "-c", "trap '' INT TERM; exec sleep 600"};  // SIG_IGN survives exec
  auto& s = make_spawner();
  auto st = start(s, request());
  ASSERT_TRUE(st);
  ASSERT_TRUE(became_sleep(pid_of(st->state)));
  auto t0 = std::chrono::steady_clock::now();
  auto stopped = run_sync(ioc_, s.stop(st->state, false));
  ASSERT_TRUE(stopped) << stopped.error().message;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_FALSE(process_alive(pid_of(st->state)));
  EXPECT_NE(logged_.str().find("sending SIGKILL"), std::string::npos);
}

TEST_F(LocalSpawnerTest, StopNowKillsWithoutGrace) {
  cfg_.cmd = {"/bin/sh", "-c", "trap '' TERM; exec sleep 600"};
  auto& s = make_spawner();
  auto st = start(s, request());
  ASSERT_TRUE(st);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_sync(ioc_, s.stop(st->state, true)));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_FALSE(process_alive(pid_of(st->state)));
}

TEST_F(LocalSpawnerTest, SecondSpawnerAdoptsPollsAndStopsAfterRestart) {
  cfg_.cmd = {"sleep", "600"};
  auto& first = make_spawner();
  auto st = start(first, request());
  ASSERT_TRUE(st);
  // "Restart": the state goes through its persisted form; the first spawner and runner go.
  auto state = boost::json::parse(boost::json::serialize(st->state)).as_object();
  spawners_.front().reset();
  runners_.front().reset();

  auto& second = make_spawner();
  ASSERT_TRUE(second.adopt(state));
  EXPECT_EQ(run_sync(ioc_, second.poll(state)), std::nullopt);
  ASSERT_TRUE(run_sync(ioc_, second.stop(state, false)));
  EXPECT_FALSE(process_alive(pid_of(state)));
  EXPECT_TRUE(run_sync(ioc_, second.poll(state)).has_value());
}

TEST_F(LocalSpawnerTest, AdoptRejectsForeignState) {
  auto& s = make_spawner();
  EXPECT_FALSE(s.adopt(boost::json::object{{"container_id", "abc"}}));
  EXPECT_FALSE(s.adopt(boost::json::object{{"pid", 1}}));  // never init
  EXPECT_EQ(run_sync(ioc_, s.poll(boost::json::object{})), std::optional<int>(0));
}

TEST_F(LocalSpawnerTest, ReusedPidIsNotMistakenForTheServer) {
  cfg_.cmd = {"sleep", "600"};
  auto& s = make_spawner();
  auto st = start(s, request());
  ASSERT_TRUE(st);
  auto state = st->state;
  state["start_ticks"] = state.at("start_ticks").as_int64() + 1;  // as if the PID were reused
  auto& other = make_spawner();
  EXPECT_EQ(run_sync(ioc_, other.poll(state)), std::optional<int>(0));
  ASSERT_TRUE(run_sync(ioc_, other.stop(state, true)));  // must not signal the stranger
  EXPECT_TRUE(process_alive(pid_of(state)));
}

TEST_F(LocalSpawnerTest, EnvironmentFollowsTheContractAndTemplates) {
  cfg_.cmd = {"/usr/bin/env"};
  cfg_.notebook_dir = "/srv/{username}/work";
  cfg_.default_url = "/lab";
  cfg_.env_keep = {"LANG", "ABSENT_VAR"};
  cfg_.environment = {{"NB_USER", "{username}"},
                      {"NB_PREFIX", "{base_url}"},
                      {"JUPYTERHUB_API_URL", "http://hub.internal:8081/hub/api"},
                      {"JSON", R"({"SameSite":"Lax"})"}};
  auto& s = make_spawner([](std::string const& name) -> std::optional<std::string> {
    if (name == "LANG") return "C.UTF-8";
    if (name == "SECRET") return "must-not-leak";
    return std::nullopt;
  });
  auto req = request();
  req.env = {{"JUPYTERHUB_API_TOKEN", "tok"}, {"JUPYTERHUB_API_URL", "http://127.0.0.1:1/hub/api"}};
  auto st = start(s, req);
  ASSERT_TRUE(st) << st.error().message;
  ASSERT_EQ(wait_exit(s, st->state), std::optional<int>(0));
  std::string out = slurp(std::string(st->state.at("log").as_string()));
  auto port = std::to_string(st->state.at("port").as_int64());
  EXPECT_NE(out.find("\nJUPYTERHUB_SERVICE_URL=http://127.0.0.1:" + port + "/user/alice/\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\nJUPYTERHUB_SERVICE_PREFIX=/user/alice/\n"), std::string::npos);
  EXPECT_NE(out.find("\nJUPYTERHUB_ROOT_DIR=/srv/alice/work\n"), std::string::npos);
  EXPECT_NE(out.find("\nJUPYTERHUB_DEFAULT_URL=/lab\n"), std::string::npos);
  EXPECT_NE(out.find("\nJUPYTERHUB_API_TOKEN=tok\n"), std::string::npos);
  EXPECT_NE(out.find("\nJUPYTERHUB_API_URL=http://hub.internal:8081/hub/api\n"),
            std::string::npos);  // `environment` wins
  EXPECT_NE(out.find("\nNB_USER=alice\n"), std::string::npos);
  EXPECT_NE(out.find("\nNB_PREFIX=/user/alice/\n"), std::string::npos);
  EXPECT_NE(out.find("\nJSON={\"SameSite\":\"Lax\"}\n"), std::string::npos);
  EXPECT_NE(out.find("\nLANG=C.UTF-8\n"), std::string::npos);
  EXPECT_EQ(out.find("SECRET"), std::string::npos);
  EXPECT_EQ(out.find("ABSENT_VAR"), std::string::npos);
  EXPECT_EQ(out.find("PATH="), std::string::npos);  // not kept: the child gets only what we list
}

// spawner.ip (JupyterHub's Spawner.ip): the server binds there and the hub's route names it;
// a wildcard binds everywhere and is reached over loopback.
TEST_F(LocalSpawnerTest, ServersBindToTheConfiguredAddress) {
  cfg_.cmd = {"/usr/bin/env"};
  for (auto [ip, bound, reached] : {std::tuple{"::1", "[::1]", "[::1]"}, std::tuple{"0.0.0.0", "0.0.0.0", "127.0.0.1"}}) {
    cfg_.ip = ip;
    auto& s = make_spawner();
    auto st = start(s, request());
    ASSERT_TRUE(st) << st.error().message;
    ASSERT_EQ(wait_exit(s, st->state), std::optional<int>(0));
    auto port = std::to_string(st->state.at("port").as_int64());
    std::string out = slurp(std::string(st->state.at("log").as_string()));
    EXPECT_NE(out.find(fmt::format("\nJUPYTERHUB_SERVICE_URL=http://{}:{}/user/alice/\n", bound, port)), std::string::npos)
        << out;
    EXPECT_EQ(st->url, fmt::format("http://{}:{}", reached, port));
  }
}

TEST_F(LocalSpawnerTest, LogFileIsPrivateAndAppendedAcrossRuns) {
  cfg_.cmd = {"/bin/echo", "hello from the server"};
  auto& s = make_spawner();
  for (int run = 0; run < 2; ++run) {
    auto st = start(s, request("a/b"));  // the name stays one path component
    ASSERT_TRUE(st) << st.error().message;
    ASSERT_EQ(wait_exit(s, st->state), std::optional<int>(0));
    EXPECT_EQ(run_sync(ioc_, s.output_tail(st->state)), "hello from the server");
  }
  std::string path = dir_ + "/logs/a%2Fb.log";
  struct stat sb {};
  ASSERT_EQ(::stat(path.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600);
  std::string out = slurp(path);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 4) << out;  // banner + line, twice
  EXPECT_NE(out.find("---- nbhub "), std::string::npos);
}

TEST_F(LocalSpawnerTest, RejectsMalformedRequests) {
  auto& s = make_spawner();
  auto req = request();
  req.service_prefix = "/user/alice";
  auto r = run_sync(ioc_, s.start(req, sink_));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::bad_request);
  req = request("");
  EXPECT_FALSE(run_sync(ioc_, s.start(req, sink_)));
}

TEST_F(LocalSpawnerTest, UnknownSystemUserIsAConfigError) {
  cfg_.run_as_system_user = true;
  auto r = start(make_spawner(), request("nbhub-no-such-user"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::config);
  EXPECT_EQ(r.error().message,
            "system user 'nbhub-no-such-user' does not exist; create it or turn off "
            "spawner.run_as_system_user");
}

TEST_F(LocalSpawnerTest, RunsAsTheSystemUserWhenRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  cfg_.run_as_system_user = true;
  cfg_.cmd = {"/bin/sh", "-c", "id -un; echo \"HOME=$HOME USER=$USER\"; pwd"};
  cfg_.env_keep = {"PATH"};
  auto& s = make_spawner();
  auto st = start(s, request("nobody"));
  ASSERT_TRUE(st) << st.error().message;
  ASSERT_EQ(wait_exit(s, st->state), std::optional<int>(0));
  std::string out = run_sync(ioc_, s.output_tail(st->state));
  EXPECT_NE(out.find("nobody\n"), std::string::npos) << out;
  EXPECT_NE(out.find("USER=nobody"), std::string::npos) << out;
}

// Issue 18 point 5: without system users each server runs in a private home of its own,
// which is also its HOME; USER and SHELL as SimpleLocalProcessSpawner sets them.
TEST_F(LocalSpawnerTest, ServerRunsInAPrivateHomeOfItsOwn) {
  cfg_.cmd = {"/bin/sh", "-c", "pwd; echo \"HOME=$HOME\"; echo \"USER=$USER\"; "
                               "echo \"SHELL=$SHELL\""};
  auto& s = make_spawner();
  auto st = start(s, request("jürgen@example.org"));
  ASSERT_TRUE(st) << st.error().message;
  ASSERT_EQ(wait_exit(s, st->state), std::optional<int>(0));
  std::string home = dir_ + "/homes/j%C3%BCrgen@example.org";
  std::string out = run_sync(ioc_, s.output_tail(st->state));
  EXPECT_EQ(out, home + "\nHOME=" + home + "\nUSER=jürgen@example.org\nSHELL=/bin/bash");
  struct stat sb {};
  ASSERT_EQ(::stat(home.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0700);
  EXPECT_EQ(sb.st_uid, ::geteuid());
}

TEST_F(LocalSpawnerTest, RefusesAHomeOrRootDirHoldingTheHubsFiles) {
  cfg_.cmd = {"/bin/true"};
  cfg_.hub_state = {{"cookie_secret_file", dir_ + "/cookie_secret"},
                    {"database", dir_ + "/homes/alice/nbhub.sqlite"}};
  auto& s = make_spawner();
  auto r = start(s, request("alice"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::config);
  EXPECT_NE(r.error().message.find("spawner.home_dir_template gives alice's server the directory " +
                                   dir_ + "/homes/alice, which holds the hub's database"),
            std::string::npos)
      << r.error().message;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/homes/alice"));  // refused before anything

  cfg_.notebook_dir = dir_;  // the hub's directory as everybody's root
  auto& s2 = make_spawner();
  auto nb = start(s2, request("bob"));
  ASSERT_FALSE(nb);
  EXPECT_NE(nb.error().message.find("spawner.notebook_dir gives bob's server the directory " +
                                    dir_ + ", which holds the hub's cookie_secret_file"),
            std::string::npos)
      << nb.error().message;

  cfg_.notebook_dir = "~/work";  // within the home: fine
  auto ok = start(make_spawner(), request("bob"));
  ASSERT_TRUE(ok) << ok.error().message;
}

TEST_F(LocalSpawnerTest, RefusesRootServersWithoutAnOptIn) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  cfg_.cmd = {"/bin/true"};
  cfg_.allow_root_servers = false;
  auto r = start(make_spawner(), request());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::config);
  EXPECT_NE(r.error().message.find("spawner.allow_root_servers = true"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/homes/alice"));
}

TEST_F(LocalSpawnerTest, MissingRequiredWorkingDirectoryFailsTheLaunch) {
  PosixProcessRunner runner(ioc_.get_executor(), log_);
  LaunchSpec spec;
  spec.path = "/bin/true";
  spec.argv = {"true"};
  spec.log_path = dir_ + "/cwd.log";
  spec.cwd = dir_ + "/absent";
  spec.cwd_required = true;
  auto r = runner.launch(spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "could not enter the working directory " + dir_ +
                                   "/absent: No such file or directory");
}

TEST(ResolveCommand, SearchesPathLikeExecvp) {
  auto r = resolve_command("sh", "/nonexistent:/bin");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "/bin/sh");
  auto missing = resolve_command("sh", "/nonexistent");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "command not found: 'sh' is not in PATH (/nonexistent); install it or set "
            "spawner.cmd to its full path");
}

TEST(PickFreePort, BindsLoopbackAndRejectsNonAddresses) {
  auto p = pick_free_port("127.0.0.1");
  ASSERT_TRUE(p);
  EXPECT_GT(*p, 0);
  auto bad = pick_free_port("localhost");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::config);
}

}  // namespace
}  // namespace nbhub::spawn::test
