#pragma once
// One nbhub per SQLite database (docs/replicas.md): a hub on a SQLite file keeps an exclusive
// flock(2) on "<database>.lock" for its whole life. A second hub on the same file fails to
// take it and refuses to start with a message saying why (and which process holds it), instead
// of running beside the first with its own servers and routes in memory.
//
// Why a separate lock file rather than SQLite's own locks: SQLite locks only around
// transactions, so two hubs would both run happily; and locking the database file itself with
// flock would interfere with nothing in SQLite but would be lost on copies made by `nbhub db
// upgrade`. The kernel drops the lock when the process dies (kill -9 included), so a crash
// never leaves a stale lock behind; the file itself stays and is reused.
//
// The descriptor is opened O_CLOEXEC: single-user servers started by the hub must not inherit
// it, or a server outliving its hub would keep the next hub out.
#include "core/result.hpp"

#include <string>
#include <string_view>

namespace nbhub::store {

class ProcessLock {
 public:
  ProcessLock() = default;  // holds nothing (PostgreSQL, in-memory SQLite)
  ProcessLock(ProcessLock&& other) noexcept;
  ProcessLock& operator=(ProcessLock&& other) noexcept;
  ProcessLock(ProcessLock const&) = delete;
  ProcessLock& operator=(ProcessLock const&) = delete;
  ~ProcessLock();

  // For `db_url` (Store::open's forms): a SQLite file gets its lock, anything else an empty
  // ProcessLock. Errors: config (a malformed URL), unavailable (held by another process: the
  // message names the database, the holder's pid and what to do; or the lock file cannot be
  // created).
  static Result<ProcessLock> for_database(std::string_view db_url);

  bool held() const { return fd_ >= 0; }
  std::string const& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace nbhub::store
