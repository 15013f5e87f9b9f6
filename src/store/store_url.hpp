#pragma once
// Parses the `db_url` setting. The URL may carry a PostgreSQL password, so no message here
// ever repeats it; errors name only the scheme.
#include "core/result.hpp"

#include <string>
#include <string_view>

namespace nbhub::store {

struct StoreUrl {
  enum class Kind { sqlite_file, sqlite_memory, postgresql };
  Kind kind = Kind::sqlite_memory;
  std::string path;  // sqlite_file: as written, relative to the working directory or absolute
  // postgresql: the URL as given (it may hold a password: never log it; see display).
  std::string postgres_url;

  // See Store::open for the accepted forms. Errors: config.
  static Result<StoreUrl> parse(std::string_view url);
};

}  // namespace nbhub::store
