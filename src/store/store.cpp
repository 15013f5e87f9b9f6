#include "store/store.hpp"

#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"
#include "store/store_url.hpp"

namespace nbhub::store {

Result<std::unique_ptr<Store>> Store::open(std::string_view url, Clock const& clock,
                                           StoreOptions options) {
  auto parsed = StoreUrl::parse(url);
  if (!parsed) return parsed.error();
  if (parsed->kind == StoreUrl::Kind::postgresql) {
    auto store = PostgresStore::open(parsed->postgres_url, clock, options);
    if (!store) return store.error();
    return std::unique_ptr<Store>(std::move(*store));
  }
  auto path =
      parsed->kind == StoreUrl::Kind::sqlite_memory ? std::string(":memory:") : parsed->path;
  auto store = SqliteStore::open(path, clock, options);
  if (!store) return store.error();
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace nbhub::store
