#include "spawn/proc_stat.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <memory>
#include <string>

namespace nbhub::spawn {

namespace {

template <class T>
bool to_number(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view line) {
  auto close = line.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(close + 1);
  // rest = " S ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  //          cutime cstime priority nice num_threads itrealvalue starttime ..."
  ProcStat st;
  int field = 2;  // the last field consumed; fields are numbered from 1 as in proc(5)
  std::size_t i = 0;
  while (i < rest.size() && field < 22) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    std::size_t j = i;
    while (j < rest.size() && rest[j] != ' ' && rest[j] != '\n') ++j;
    if (j == i) break;
    std::string_view tok = rest.substr(i, j - i);
    ++field;
    bool ok = true;
    if (field == 3) st.state = tok[0];
    else if (field == 5) ok = to_number(tok, st.pgrp);
    else if (field == 6) ok = to_number(tok, st.session);
    else if (field == 22) ok = to_number(tok, st.start_ticks);
    if (!ok) return std::nullopt;
    i = j;
  }
  if (field != 22) return std::nullopt;
  return st;
}

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  return parse_proc_stat(std::string_view(buf, static_cast<std::size_t>(n)));
}

std::optional<std::uint64_t> process_start_ticks(pid_t pid) {
  auto st = read_proc_stat(pid);
  if (!st) return std::nullopt;
  return st->start_ticks;
}

bool any_live_member(pid_t pgid) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/proc"), ::closedir);
  if (!dir) return true;  // cannot tell: assume alive, the caller escalates or times out
  while (dirent* e = ::readdir(dir.get())) {
    pid_t pid = 0;
    std::string_view name(e->d_name);
    if (!to_number(name, pid)) continue;
    auto st = read_proc_stat(pid);
    if (st && st->pgrp == pgid && st->state != 'Z' && st->state != 'X') return true;
  }
  return false;
}

}  // namespace nbhub::spawn
