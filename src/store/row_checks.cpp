#include "store/row_checks.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace nbhub::store {

namespace {

constexpr std::array<std::string_view, 4> kTokenKinds{"server", "api", "oauth", "session"};
constexpr std::array<std::string_view, 3> kPendingActions{"", "spawn", "stop"};

bool one_of(auto const& allowed, std::string_view v) {
  return std::find(allowed.begin(), allowed.end(), v) != allowed.end();
}

Result<void> check_session_hash(std::optional<std::string> const& h) {
  // nullopt means "no session"; an empty string would be a second spelling of it that
  // delete_tokens_for_session could never match.
  if (h && h->empty())
    return make_error(Errc::bad_request,
                      "a session id hash must not be empty (leave it unset for no session)");
  return {};
}

}  // namespace

bool is_sha256_hex(std::string_view s) noexcept {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<void> check_token_row(TokenRow const& t) {
  if (!is_sha256_hex(t.hash))
    return make_error(Errc::bad_request,
                      "a token hash must be the hex SHA-256 of the token (64 lowercase hex "
                      "characters); the raw token must never be stored");
  if (t.prefix.size() > 4)
    return make_error(Errc::bad_request,
                      "a token prefix is at most the token's first 4 characters");
  if (!one_of(kTokenKinds, t.kind))
    return make_error(Errc::bad_request, "unknown token kind '" + t.kind +
                                             "' (expected server, api, oauth or session)");
  if (t.user_id.has_value() == t.service_name.has_value())
    return make_error(Errc::bad_request,
                      "a token belongs to exactly one user or one service, not " +
                          std::string(t.user_id ? "both" : "neither"));
  if (t.service_name && t.service_name->empty())
    return make_error(Errc::bad_request, "a token's service name must not be empty");
  return check_session_hash(t.session_id_hash);
}

Result<void> check_oauth_client_row(OAuthClientRow const& c) {
  if (c.client_id.empty())
    return make_error(Errc::bad_request, "an OAuth client id must not be empty");
  if (!c.secret_hash.empty() && !is_sha256_hex(c.secret_hash))
    return make_error(Errc::bad_request,
                      "the secret hash of OAuth client '" + c.client_id +
                          "' must be the hex SHA-256 of the secret (64 lowercase hex "
                          "characters), or empty for a client without a secret");
  return {};
}

Result<void> check_oauth_code_row(OAuthCodeRow const& c) {
  if (!is_sha256_hex(c.code_hash))
    return make_error(Errc::bad_request,
                      "an OAuth code hash must be the hex SHA-256 of the code (64 lowercase hex "
                      "characters); the raw code must never be stored");
  return check_session_hash(c.session_id_hash);
}

Result<void> check_server_row(ServerRow const& s) {
  if (!one_of(kPendingActions, s.pending))
    return make_error(Errc::bad_request, "unknown pending action '" + s.pending +
                                             "' for a server (expected \"\", spawn or stop)");
  return {};
}

}  // namespace nbhub::store
