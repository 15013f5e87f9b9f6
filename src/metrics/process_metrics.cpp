#include "metrics/process_metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace nbhub::metrics {

namespace {

double boot_time_seconds() {
  std::ifstream f("/proc/stat");
  std::string key;
  double v = 0;
  while (f >> key) {
    if (key == "btime") {
      f >> v;
      return v;
    }
    f.ignore(1 << 20, '\n');
  }
  return 0;
}

double count_open_fds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return 0;
  double n = 0;
  while (auto* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n - 1;  // the directory stream's own descriptor
}

}  // namespace

ProcessSample sample_process() {
  ProcessSample s;
  static long const ticks = ::sysconf(_SC_CLK_TCK);
  static long const page = ::sysconf(_SC_PAGESIZE);
  static double const btime = boot_time_seconds();
  std::ifstream f("/proc/self/stat");
  std::string line;
  if (std::getline(f, line)) {
    // Fields after the command name, which is in parentheses and may hold spaces: state is
    // field 3; utime 14, stime 15, starttime 22, vsize 23, rss 24 (proc(5)).
    auto close = line.rfind(')');
    if (close != std::string::npos) {
      std::istringstream rest(line.substr(close + 2));
      std::string field;
      double v[24] = {};
      for (int i = 3; i <= 24 && rest >> field; ++i) v[i - 1] = std::strtod(field.c_str(), nullptr);
      if (ticks > 0) {
        s.cpu_seconds = (v[13] + v[14]) / static_cast<double>(ticks);
        s.start_time_seconds = btime + v[21] / static_cast<double>(ticks);
      }
      s.virtual_bytes = v[22];
      s.resident_bytes = v[23] * static_cast<double>(page);
    }
  }
  s.open_fds = count_open_fds();
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) s.max_fds = static_cast<double>(rl.rlim_cur);
  return s;
}

void add_process_metrics(Registry& r) {
  // One read of /proc per scrape, shared by the six values (expose() runs hooks and callbacks
  // under the registry's lock, so scrapes do not interleave here).
  auto last = std::make_shared<ProcessSample>();
  r.on_collect([last] { *last = sample_process(); });
  r.callback(Type::counter, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
             [last] { return last->cpu_seconds; });
  r.callback(Type::gauge, "process_resident_memory_bytes", "Resident memory size in bytes.",
             [last] { return last->resident_bytes; });
  r.callback(Type::gauge, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
             [last] { return last->virtual_bytes; });
  r.callback(Type::gauge, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
             [last] { return last->start_time_seconds; });
  r.callback(Type::gauge, "process_open_fds", "Number of open file descriptors.", [last] { return last->open_fds; });
  r.callback(Type::gauge, "process_max_fds", "Maximum number of open file descriptors.", [last] { return last->max_fds; });
}

}  // namespace nbhub::metrics
