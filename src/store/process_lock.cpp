#include "store/process_lock.hpp"

#include "store/store_url.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace nbhub::store {

ProcessLock::ProcessLock(ProcessLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

ProcessLock& ProcessLock::operator=(ProcessLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

ProcessLock::~ProcessLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

namespace {

std::string read_small(int fd) {
  char buf[64] = {};
  auto n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return {};
  std::string s(buf, static_cast<std::size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Result<ProcessLock> ProcessLock::for_database(std::string_view db_url) {
  auto url = StoreUrl::parse(db_url);
  if (!url) return url.error();
  if (url->kind != StoreUrl::Kind::sqlite_file) return ProcessLock{};
  ProcessLock lock;
  lock.path_ = url->path + ".lock";
  // Mode 0600 like the database: the file holds only a pid, but it sits among private files.
  lock.fd_ = ::open(lock.path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock.fd_ < 0)
    return make_error(Errc::unavailable, "cannot create the lock file " + lock.path_ + " beside the SQLite database: " +
                                             std::strerror(errno) + "; check that the user running nbhub may write there");
  if (::flock(lock.fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err != EWOULDBLOCK)
      return make_error(Errc::unavailable, "cannot lock " + lock.path_ + ": " + std::strerror(err));
    auto holder = read_small(lock.fd_);
    return make_error(Errc::unavailable,
                      "the SQLite database " + url->path + " is in use by another nbhub" +
                          (holder.empty() ? std::string() : " (pid " + holder + ")") + ", which holds " +
                          lock.path_ +
                          ". A SQLite database serves one nbhub process: stop the other one, or, to run "
                          "several nbhub replicas, use PostgreSQL (db_url = \"postgresql://...\"; see "
                          "docs/replicas.md)");
  }
  // Ours: record our pid for the message another process would give.
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock.fd_, 0) == 0) (void)!::pwrite(lock.fd_, pid.data(), pid.size(), 0);
  return lock;
}

}  // namespace nbhub::store
