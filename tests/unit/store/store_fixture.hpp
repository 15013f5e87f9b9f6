#pragma once
// Helpers shared by the store tests: a temporary directory, a fake clock at a round time,
// opening a migrated store, and raw SQLite access for checking what the store wrote.
#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "store/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <source_location>
#include <stdexcept>
#include <string>

namespace nbhub::store::testing {

using namespace std::chrono_literals;

// 2026-01-01T00:00:00Z: whole seconds, so times survive the store's microsecond precision.
inline Clock::SysTime kEpoch = Clock::SysTime{} + std::chrono::seconds{1767225600};

// Unwraps a Result or fails the test with the error's code and message.
template <class T>
T must(Result<T> r, std::source_location loc = std::source_location::current()) {
  if (!r) {
    ADD_FAILURE_AT(loc.file_name(), static_cast<int>(loc.line()))
        << to_string(r.error().code) << ": " << r.error().message;
    throw std::runtime_error("must() failed");
  }
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

// The hex SHA-256 the store keeps for a token, code or client secret.
inline std::string hash_of(std::string_view raw) {
  return crypto::hex_encode(crypto::sha256(raw));
}

class TempDir {
 public:
  TempDir() {
    auto base = std::filesystem::temp_directory_path() / "nbhub-store-XXXXXX";
    std::string tmpl = base.string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);  // best effort: a leftover temp dir fails nothing
  }
  std::filesystem::path const& path() const { return path_; }
  // The SQLAlchemy-style URL of an absolute path: sqlite:////abs/path.
  std::string url(std::string const& file) const { return "sqlite:///" + (path_ / file).string(); }

 private:
  std::filesystem::path path_;
};

inline std::unique_ptr<Store> open_migrated(std::string const& url, Clock& clock,
                                            StoreOptions options = {}) {
  auto store = must(Store::open(url, clock, options));
  must(store->migrate());
  return store;
}

// Runs `sql` on a separate raw connection and returns the first column of the first row.
inline std::string raw_query(std::filesystem::path const& file, std::string const& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      if (auto* t = sqlite3_column_text(st, 0)) out = reinterpret_cast<const char*>(t);
    } else {
      out = std::string("error: ") + sqlite3_errmsg(db);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

}  // namespace nbhub::store::testing
