#pragma once
// Reading /proc/PID/stat (proc(5)): Linux-only, like the rest of LocalSpawner. procfs reads
// do not block on I/O; any_live_member() scans every process and belongs on the pool.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace nbhub::spawn {

struct ProcStat {
  char state = '?';               // R, S, D, Z (zombie), X (dead), ...
  pid_t pgrp = 0;
  pid_t session = 0;
  std::uint64_t start_ticks = 0;  // clock ticks after boot
};

// Parses one stat line. The command name (field 2) may hold spaces and parentheses, so fields
// are counted from the *last* ')'.
std::optional<ProcStat> parse_proc_stat(std::string_view line);

// nullopt when there is no such process.
std::optional<ProcStat> read_proc_stat(pid_t pid);

// Start time of `pid` (field 22); nullopt when there is no such process.
std::optional<std::uint64_t> process_start_ticks(pid_t pid);

// True when some process of group `pgid` is neither a zombie nor dead.
bool any_live_member(pid_t pgid);

}  // namespace nbhub::spawn
