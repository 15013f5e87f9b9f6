#include "store/sqlite_helpers.hpp"

namespace nbhub::store {

Error missing_parent(SqliteConnection& c, std::optional<std::int64_t> user_id,
                     std::optional<std::string_view> client_id) {
  if (user_id) {
    auto found = row_exists(c, "SELECT 1 FROM users WHERE id = ?", *user_id);
    if (!found) return found.error();
    if (!*found) return no_user_with_id(*user_id);
  }
  if (client_id) {
    auto found = row_exists(c, "SELECT 1 FROM oauth_clients WHERE client_id = ?", *client_id);
    if (!found) return found.error();
    if (!*found) return no_oauth_client(*client_id);
  }
  return make_error(Errc::internal,
                    "a foreign key failed although the user and OAuth client it names exist");
}

}  // namespace nbhub::store
