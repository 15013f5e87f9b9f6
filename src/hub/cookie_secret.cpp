#include "hub/cookie_secret.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/crypto.hpp"

namespace nbhub::hub {

Result<Secret> load_or_create_cookie_secret(std::string const& path,
                                            std::map<std::string, std::string> const& env,
                                            Random& random) {
  for (auto name : {"NBHUB_COOKIE_SECRET", "JUPYTERHUB_COOKIE_SECRET"}) {
    auto it = env.find(name);
    if (it == env.end() || it->second.empty()) continue;
    auto raw = crypto::hex_decode(it->second);
    if (!raw || raw->size() < 32)
      return Error{Errc::config, fmt::format("{} must be at least 64 hex characters (openssl rand -hex 32)", name)};
    return Secret(*raw);
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (st.st_mode & 077)
      return Error{Errc::config, fmt::format("cookie_secret_file {} is readable by group or others (mode {:o}); run: chmod 600 {}", path, st.st_mode & 0777, path)};
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    auto text = ss.str();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    auto raw = crypto::hex_decode(text);
    if (!raw || raw->size() < 32)
      return Error{Errc::config, fmt::format("cookie_secret_file {} must hold at least 64 hex characters", path)};
    return Secret(*raw);
  }
  auto raw = random.bytes(32);
  if (!raw) return Error{Errc::internal, "the system random generator failed"};
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return Error{Errc::config, fmt::format("cannot create cookie_secret_file {}: {}", path, std::strerror(errno))};
  auto text = crypto::hex_encode(*raw) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Error{Errc::config, fmt::format("cannot write cookie_secret_file {}", path)};
  return Secret(*raw);
}

}  // namespace nbhub::hub
