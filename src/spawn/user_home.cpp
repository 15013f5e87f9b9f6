#include "spawn/user_home.hpp"

#include "config/spawner_traits.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace nbhub::spawn {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kField = "{username}";

// Absolute, symbolic links of the existing part resolved, no trailing separator: paths
// compared with lexically_relative must be spelled alike.
fs::path normalized(fs::path const& p) {
  std::error_code ec;
  auto abs = fs::absolute(p, ec);
  if (ec) abs = p;
  auto out = fs::weakly_canonical(abs, ec);
  if (ec) out = abs.lexically_normal();
  if (!out.has_filename() && out != out.root_path()) out = out.parent_path();
  return out;
}

// Whether `inner` is `outer` or lies below it.
bool is_within(fs::path const& inner, fs::path const& outer) {
  auto rel = inner.lexically_relative(outer);
  return !rel.empty() && *rel.begin() != "..";
}

Error template_error(std::string_view tmpl, std::string_view why) {
  return Error{Errc::config, fmt::format("spawner.home_dir_template \"{}\": {}", tmpl, why)};
}

}  // namespace

std::string escape_file_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (unsigned char c : name) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-' || c == '@' || c == '+';
    if (keep)
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string home_dir_name(std::string_view user) {
  if (user.starts_with('.')) return "%2E" + escape_file_name(user.substr(1));
  return escape_file_name(user);
}

Result<void> check_home_dir_template(std::string_view tmpl) {
  auto why = config::home_dir_template_problem(tmpl);
  if (!why.empty()) return template_error(tmpl, why);
  return {};
}

Result<std::string> home_dir_for(std::string_view tmpl, std::string const& user,
                                 std::vector<HubStatePath> const& hub_state) {
  if (auto ok = check_home_dir_template(tmpl); !ok) return ok.error();
  std::string path;
  auto name = home_dir_name(user);
  for (std::size_t i = 0; i < tmpl.size();) {
    if (tmpl.substr(i, kField.size()) == kField) {
      path += name;
      i += kField.size();
    } else {
      path += tmpl[i++];
    }
  }
  // The parent resolved, the home itself as written: make_private_dir must see a symbolic
  // link there to refuse it.
  std::error_code ec;
  auto abs = fs::absolute(path, ec).lexically_normal();
  if (ec) abs = fs::path(path).lexically_normal();
  if (!abs.has_filename()) abs = abs.parent_path();
  auto home = (normalized(abs.parent_path()) / abs.filename()).string();
  if (auto ok = check_holds_no_hub_state(home, hub_state, "spawner.home_dir_template", user); !ok)
    return ok.error();
  return home;
}

Result<void> check_holds_no_hub_state(std::string const& dir,
                                      std::vector<HubStatePath> const& hub_state,
                                      std::string_view option, std::string const& user) {
  auto d = normalized(dir);
  for (auto const& s : hub_state) {
    if (s.path.empty()) continue;
    auto p = normalized(s.path);
    if (is_within(p, d))
      return Error{Errc::config,
                   fmt::format("{} gives {}'s server the directory {}, which holds the hub's {} "
                               "({}): the server could read it. Choose a directory apart from "
                               "the hub's files (the default home is homes/{{username}} under "
                               "data_dir)",
                               option, user, d.string(), s.what, p.string())};
  }
  return {};
}

Result<bool> make_private_dir(std::string const& dir, uid_t uid) {
  fs::path const target(dir);
  fs::path cur;
  for (auto const& part : target) {
    cur /= part;
    if (cur == cur.root_path()) continue;
    // mkdir, not create_directories: every directory nbhub makes on the way is private.
    if (::mkdir(cur.c_str(), 0700) < 0 && errno != EEXIST)
      return Error{Errc::config, fmt::format("cannot create the home directory {}: {}; check "
                                             "spawner.home_dir_template and data_dir",
                                             cur.string(), std::strerror(errno))};
  }
  struct stat link {};
  bool is_link = ::lstat(dir.c_str(), &link) == 0 && S_ISLNK(link.st_mode);
  int fd = is_link ? -1 : ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    // ELOOP: swapped for a link since the lstat.
    std::string why = is_link || err == ELOOP ? "it is a symbolic link, which nbhub does not follow"
                      : err == ENOTDIR        ? "it is not a directory"
                                              : std::strerror(err);
    return Error{Errc::config, fmt::format("cannot use {} as a home directory: {}; remove it or "
                                           "change spawner.home_dir_template",
                                           dir, why)};
  }
  struct stat st {};
  bool narrowed = false;
  std::string problem;
  if (::fstat(fd, &st) < 0) {
    problem = std::strerror(errno);
  } else if (st.st_uid != uid) {
    // Someone else made it (in a shared /tmp, say): it may hold their files, or be theirs to
    // watch. Never hand it to a user.
    problem = fmt::format("it belongs to uid {}, not to nbhub's uid {}", st.st_uid, uid);
  } else if ((st.st_mode & 077) != 0) {
    if (::fchmod(fd, 0700) < 0)
      problem = fmt::format("cannot make it private (chmod 0700): {}", std::strerror(errno));
    else
      narrowed = true;
  }
  ::close(fd);
  if (!problem.empty())
    return Error{Errc::config, fmt::format("cannot use {} as a home directory: {}; remove it or "
                                           "change spawner.home_dir_template",
                                           dir, problem)};
  return narrowed;
}

}  // namespace nbhub::spawn
