#pragma once
// A private Docker daemon for the Docker spawner tests: Debian's dockerd with its own socket,
// data root and exec root in a temporary directory, no bridge (--bridge=none, no iptables):
// containers use host networking only. Started on first use in a test process and stopped
// (SIGTERM, wait, unmount what it left mounted, remove the directory) when the process
// exits; PR_SET_PDEATHSIG stops it if the test process dies.
//
// The test image is built locally, never pulled: `docker import` of a root file system that
// holds only the merged-/usr symlinks (bin -> usr/bin, ...), into which the tests bind-mount
// the host's /usr read-only. So the container runs the host's python3 and
// jupyterhub-singleuser.
//
// available() is false with reason() when dockerd cannot run here (not installed, not root,
// the kernel refuses); the tests then report SKIPPED with that reason.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace nbhub::spawn::test {

class DockerRig {
 public:
  static DockerRig& shared() {
    static DockerRig rig;
    return rig;
  }
  bool available() const { return pid_ > 0 && !image_.empty(); }
  std::string const& reason() const { return reason_; }
  std::string const& socket() const { return socket_; }
  std::string const& image() const { return image_; }
  // Runs the docker CLI against this daemon; returns its exit status, output in `out`.
  int cli(std::string const& args, std::string* out = nullptr) const {
    auto cmd = "docker -H unix://" + socket_ + " " + args + " 2>&1";
    std::string text;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return -1;
    char buf[4096];
    while (auto n = std::fread(buf, 1, sizeof buf, p)) text.append(buf, n);
    int st = ::pclose(p);
    if (out) *out = text;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }

  ~DockerRig() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      for (int i = 0; i < 200 && ::waitpid(pid_, &st, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &st, 0);
    }
    if (dir_.empty()) return;
    // dockerd bind-mounts its data root and network namespaces under the directory.
    std::ifstream mounts("/proc/self/mounts");
    std::vector<std::string> under;
    for (std::string dev, point, rest; mounts >> dev >> point && std::getline(mounts, rest);)
      if (point.starts_with(dir_)) under.push_back(point);
    for (auto it = under.rbegin(); it != under.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  DockerRig() {
    if (::geteuid() != 0) {
      reason_ = "dockerd needs root and the tests do not run as root";
      return;
    }
    std::string dockerd;
    for (auto p : {"/usr/sbin/dockerd", "/usr/bin/dockerd"})
      if (::access(p, X_OK) == 0) dockerd = p;
    if (dockerd.empty()) {
      reason_ = "dockerd is not installed (Debian's docker.io; scripts/install-deps.sh)";
      return;
    }
    std::string tmpl = "/tmp/nbhub-dockerd-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
      reason_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    socket_ = dir_ + "/docker.sock";
    std::vector<std::string> argv{dockerd,
                                  "--bridge=none",
                                  "--iptables=false",
                                  "--ip6tables=false",
                                  "--host=unix://" + socket_,
                                  "--data-root=" + dir_ + "/data",
                                  "--exec-root=" + dir_ + "/exec",
                                  "--pidfile=" + dir_ + "/docker.pid"};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    auto log = dir_ + "/dockerd.log";
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::setsid();
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(125);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    for (int i = 0; i < 300; ++i) {
      if (cli("version --format '{{.Server.Version}}'") == 0) break;
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        reason_ = "dockerd exited at startup: " + tail(log);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    std::string out;
    if (cli("version --format '{{.Server.Version}}'", &out) != 0) {
      reason_ = "dockerd did not answer within 15 s: " + out + tail(log);
      return;
    }
    // The image: merged-/usr symlinks only; tests mount the host's /usr over it.
    auto root = dir_ + "/rootfs";
    for (auto d : {"usr", "etc", "tmp", "proc", "sys", "dev", "home", "work"})
      std::filesystem::create_directories(root + "/" + d);
    for (auto l : {"bin", "lib", "lib64", "sbin"})
      std::filesystem::create_symlink(std::string("usr/") + l, root + "/" + l);
    std::filesystem::permissions(root + "/tmp", std::filesystem::perms::all |
                                                     std::filesystem::perms::sticky_bit);
    if (std::system(("tar -C " + root + " -cf " + dir_ + "/rootfs.tar .").c_str()) != 0 ||
            cli("import " + dir_ + "/rootfs.tar nbhub-test-singleuser:1", &out) != 0) {
      reason_ = "docker import of the test image failed: " + out;
      return;
    }
    image_ = "nbhub-test-singleuser:1";
  }

  static std::string tail(std::string const& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    auto s = ss.str();
    return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
  }

  std::string dir_, socket_, image_, reason_;
  pid_t pid_ = -1;
};

}  // namespace nbhub::spawn::test
