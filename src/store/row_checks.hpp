#pragma once
// What the store refuses before any SQL runs (bad_request), shared by the back ends so that
// SQLite and PostgreSQL reject the same rows with the same messages. Messages never repeat a
// hash or prefix: a malformed "hash" may well be a raw secret passed by mistake.
#include "core/result.hpp"
#include "store/rows.hpp"

#include <string_view>

namespace nbhub::store {

// 64 lowercase hex characters: the form of every hash the store keeps (rows.hpp).
bool is_sha256_hex(std::string_view s) noexcept;

Result<void> check_token_row(TokenRow const& token);
Result<void> check_oauth_client_row(OAuthClientRow const& client);
Result<void> check_oauth_code_row(OAuthCodeRow const& code);
Result<void> check_server_row(ServerRow const& server);

}  // namespace nbhub::store
