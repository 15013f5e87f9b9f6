#include "store/store_url.hpp"

namespace nbhub::store {

namespace {
constexpr std::string_view kForms =
    "use sqlite:///relative/path.sqlite, sqlite:////absolute/path.sqlite, sqlite:// for a "
    "database in memory, or postgresql://user:password@host:port/database";
}

Result<StoreUrl> StoreUrl::parse(std::string_view url) {
  if (url == ":memory:" || url == "sqlite://" || url == "sqlite:///:memory:")
    return StoreUrl{Kind::sqlite_memory, {}};
  auto colon = url.find(':');
  auto scheme = colon == std::string_view::npos ? std::string_view{} : url.substr(0, colon);
  if (scheme == "postgresql" || scheme == "postgres" || scheme.starts_with("postgresql+") ||
      scheme.starts_with("postgres+")) {
    if (!url.substr(colon).starts_with("://"))
      return make_error(Errc::config,
                        "db_url: a PostgreSQL URL has the form postgresql://user:password@host:"
                        "port/database (or postgresql:///database?host=/socket/dir)");
    StoreUrl out{Kind::postgresql, {}, std::string(url)};
    return out;
  }
  if (scheme != "sqlite")
    return make_error(Errc::config, "db_url: unsupported scheme '" + std::string(scheme) +
                                        "' (the URL is not repeated here in case it holds a "
                                        "password); " +
                                        std::string(kForms));
  constexpr std::string_view kPrefix = "sqlite:///";
  if (!url.starts_with(kPrefix))
    return make_error(Errc::config, "db_url: a sqlite URL takes no host (sqlite://host/...); " +
                                        std::string(kForms));
  auto path = url.substr(kPrefix.size());
  if (path.empty())
    return make_error(Errc::config, "db_url: the sqlite path is empty; " + std::string(kForms));
  // SQLAlchemy would pass ?query options to the driver; we have none to offer and a silently
  // ignored option (say, mode=ro) would be worse than an error.
  if (path.find('?') != std::string_view::npos)
    return make_error(Errc::config, "db_url: sqlite URLs take no ?options; " + std::string(kForms));
  return StoreUrl{Kind::sqlite_file, std::string(path)};
}

}  // namespace nbhub::store
