#pragma once
// A private PostgreSQL server for the store tests: initdb into a temporary directory, then
// `postgres` listening only on a unix socket in that directory (port chosen free at run
// time; it names the socket file), trust authentication for the superuser `nbhub`.
// One server per test process, started on first use and stopped (SIGINT = fast shutdown,
// then the directory removed) when the process exits. The cluster is a copy of a template
// initdb'd once per machine (/dev/shm or $TMPDIR: nbhub-pg-template-<uid>-<hash>, kept); PR_SET_PDEATHSIG stops it too if the
// test process dies. Each test gets its own fresh database (fresh_database_url()).
//
// PostgreSQL refuses to run as root: when the tests run as root the server runs as the
// `postgres` user (Debian's package creates it), else `nobody`.
//
// When no PostgreSQL is installed, available() is false and reason() says why; the
// PostgreSQL variants of the tests then report SKIPPED with that reason.
#include "store/postgres_connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace nbhub::store::testing {

class PgRig {
 public:
  static PgRig& shared() {
    static PgRig rig;
    return rig;
  }

  bool available() const { return pid_ > 0; }
  std::string const& reason() const { return reason_; }
  std::string const& socket_dir() const { return dir_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }

  // postgresql://nbhub@/<db>?host=<dir>&port=<port>
  std::string url(std::string const& db) const {
    return "postgresql://nbhub@/" + db + "?host=" + dir_ + "&port=" + std::to_string(port_);
  }

  // Creates an empty database and returns its URL.
  std::string fresh_database_url() {
    static std::atomic<int> counter{0};
    std::string db = "t" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    admin_sql("CREATE DATABASE " + db);
    return url(db);
  }

  // Runs SQL on the `postgres` database; returns the error message, "" on success. Goes
  // through the store's own PgConnection (and so through libpq loaded with dlopen).
  std::string admin_sql(std::string const& sql) const {
    auto c = PgConnection::open({url("postgres"), "the test server", std::chrono::seconds{5}});
    if (!c) return c.error().message;
    auto r = (*c)->exec(sql);
    return r ? "" : r.error().message;
  }

  // Stops the server (fast shutdown) and starts it again on the same directory and port,
  // for reconnection tests. `down_for` is how long it stays down.
  bool restart(std::chrono::milliseconds down_for = std::chrono::milliseconds{0}) {
    stop_server();
    std::this_thread::sleep_for(down_for);
    return start_server();
  }
  void stop_server() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGINT);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  bool start_server() {
    pid_ = spawn({bindir_ + "/postgres", "-D", dir_ + "/data", "-k", dir_, "-p",
                  std::to_string(port_), "-c", "listen_addresses=", "-c", "fsync=off", "-c",
                  "max_connections=40"},
                 dir_ + "/postgres.log");
    if (pid_ <= 0) return fail("cannot start postgres");
    for (int i = 0; i < 200; ++i) {
      if (PgConnection::open({url("postgres"), "the test server", std::chrono::seconds{1}})) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return fail("postgres exited at startup; its log: " + read_log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    stop_server();
    return fail("postgres did not accept connections within 10 s; its log: " + read_log());
  }

  ~PgRig() {
    stop_server();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

 private:
  PgRig() {
    bindir_ = find_bindir();
    if (!bindir_.empty() && ::access((bindir_ + "/initdb").c_str(), X_OK) != 0) {
      reason_ = "no executable initdb in " + bindir_ + " (NBHUB_PG_BINDIR)";
      return;
    }
    if (bindir_.empty()) {
      reason_ = "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; "
                "scripts/install-deps.sh installs Debian's postgresql)";
      return;
    }
    if (::geteuid() == 0) {
      passwd* pw = ::getpwnam("postgres");
      if (!pw) pw = ::getpwnam("nobody");
      if (!pw) {
        reason_ = "running as root and neither a 'postgres' nor a 'nobody' user exists";
        return;
      }
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
    }
    std::string tmpl = (base_dir() / "nbhub-pg-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) {
      reason_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    if (uid_ >= 0 && ::chown(dir_.c_str(), uid_, gid_) != 0) {
      reason_ = "cannot chown " + dir_;
      return;
    }
    port_ = free_port();
    // initdb takes about a second of CPU and every test process needs a cluster, so one
    // initdb'd template per machine and user is copied (cp -a keeps owner and modes).
    auto tmpl_dir = template_dir();
    if (tmpl_dir.empty()) return;
    if (std::system(("cp -a " + tmpl_dir + " " + dir_ + "/data").c_str()) != 0) {
      reason_ = "cannot copy the PostgreSQL template " + tmpl_dir;
      return;
    }
    start_server();
  }

  // /dev/shm when usable: a cluster on tmpfs copies and starts in a fraction of the time it
  // takes on a virtual disk, and the tests need no durability.
  static std::filesystem::path base_dir() {
    if (::access("/dev/shm", W_OK | X_OK) == 0) return "/dev/shm";
    return std::filesystem::temp_directory_path();
  }

  // The template cluster, made once under a file lock; "" with reason_ set on failure.
  std::string template_dir() {
    auto base = base_dir() / ("nbhub-pg-template-" + std::to_string(::geteuid()) + "-" +
                 std::to_string(std::hash<std::string>{}(bindir_)));
    auto path = base.string();
    int lock = ::open((path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || ::flock(lock, LOCK_EX) != 0) {
      reason_ = "cannot lock " + path + ".lock";
      if (lock >= 0) ::close(lock);
      return "";
    }
    struct Unlock {
      int fd;
      ~Unlock() { ::close(fd); }
    } unlock{lock};
    if (std::filesystem::exists(base / "PG_VERSION")) return path;
    auto work = path + ".new";
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
    std::filesystem::create_directories(work + "-parent", ec);
    if (uid_ >= 0 && ::chown((work + "-parent").c_str(), uid_, gid_) != 0) {
      reason_ = "cannot chown " + work + "-parent";
      return "";
    }
    auto data = work + "-parent/data";
    pid_t initdb = spawn({bindir_ + "/initdb", "-D", data, "-A", "trust", "-U", "nbhub", "-E",
                          "UTF8", "--locale=C", "--no-sync"},
                         dir_ + "/initdb.log");
    int status = 0;
    if (initdb <= 0 || ::waitpid(initdb, &status, 0) != initdb || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      std::ifstream log(dir_ + "/initdb.log");
      std::stringstream ss;
      ss << log.rdbuf();
      reason_ = "initdb failed: " + ss.str();
      std::filesystem::remove_all(work + "-parent", ec);
      return "";
    }
    std::filesystem::rename(data, path, ec);
    std::filesystem::remove_all(work + "-parent", ec);
    if (ec) {
      reason_ = "cannot move the template to " + path + ": " + ec.message();
      return "";
    }
    return path;
  }

  bool fail(std::string why) {
    reason_ = std::move(why);
    return false;
  }

  std::string read_log() const {
    std::ifstream log(dir_ + "/postgres.log");
    std::stringstream ss;
    ss << log.rdbuf();
    return ss.str();
  }

  static std::string find_bindir() {
    if (const char* env = std::getenv("NBHUB_PG_BINDIR")) return env;
    std::vector<std::string> found;
    std::error_code ec;
    for (auto const& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec))
      if (std::filesystem::exists(e.path() / "bin" / "initdb"))
        found.push_back((e.path() / "bin").string());
    std::sort(found.begin(), found.end());
    return found.empty() ? std::string() : found.back();
  }

  // A TCP port free right now on 127.0.0.1. The server listens only on its unix socket, whose
  // name carries the port: a private directory makes clashes impossible anyway.
  static int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 5432;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
    ::close(fd);
    return port;
  }

  pid_t spawn(std::vector<std::string> argv, std::string const& log) const {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid != 0) return pid;
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    if (uid_ >= 0) {
      if (::fchown(fd, uid_, gid_) != 0 || ::setgroups(0, nullptr) != 0 || ::setgid(gid_) != 0 ||
          ::setuid(uid_) != 0)
        ::_exit(126);
    }
    // After setuid, which clears it: the server dies with the test process.
    ::prctl(PR_SET_PDEATHSIG, SIGINT);
    if (::getppid() != parent) ::_exit(125);
    ::execv(args[0], args.data());
    ::_exit(127);
  }

  std::string bindir_, dir_, reason_;
  int port_ = 0;
  pid_t pid_ = -1;
  int uid_ = -1, gid_ = -1;
};

}  // namespace nbhub::store::testing
