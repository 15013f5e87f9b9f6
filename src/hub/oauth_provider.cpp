#include "hub/oauth_provider.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "core/crypto.hpp"
#include "hub/blocking.hpp"
#include "hub/scopes.hpp"
#include "hub/tokens.hpp"
#include "store/store.hpp"

namespace nbhub::hub {

namespace net = boost::asio;
namespace json = boost::json;

namespace {

std::string first(std::multimap<std::string, std::string> const& m, std::string const& k) {
  auto it = m.find(k);
  return it == m.end() ? std::string{} : it->second;
}

std::string enc(std::string_view s) { return boost::urls::encode(s, boost::urls::unreserved_chars); }

OAuthReply oauth_error(unsigned status, std::string error, std::string description) {
  return {status, json::object{{"error", std::move(error)}, {"error_description", std::move(description)}}};
}

std::string server_label(store::OAuthClientRow const& c) {
  return c.description.empty() ? c.client_id : c.description;
}

}  // namespace

OAuthProvider::OAuthProvider(store::Store& store, TokenService& tokens, Clock const& clock,
                             Random& random, net::thread_pool& pool,
                             std::chrono::seconds token_lifetime, bool admin_access,
                             spdlog::logger& log)
    : store_(store), tokens_(tokens), clock_(clock), random_(random), pool_(pool),
      token_lifetime_(token_lifetime), admin_access_(admin_access), log_(log) {}

net::awaitable<Result<std::string>> OAuthProvider::authorize(store::UserRow user, std::string session_hash,
                                                             std::multimap<std::string, std::string> query) {
  auto client_id = first(query, "client_id");
  auto redirect_uri = first(query, "redirect_uri");
  auto state = first(query, "state");
  auto response_type = first(query, "response_type");
  auto code = random_.token(24);
  if (!code) co_return Error{Errc::internal, "The system random generator failed."};

  auto work = [&, code = *code]() -> Result<std::string> {
    if (client_id.empty()) return Error{Errc::bad_request, "The authorization request names no client_id."};
    auto client = store_.get_oauth_client(client_id);
    if (!client) {
      if (client.error().code != Errc::not_found) return client.error();
      return Error{Errc::bad_request, fmt::format("Unknown OAuth client \"{}\". If this is your server, stop and start it again.", client_id)};
    }
    if (client->secret_hash.empty()) return Error{Errc::bad_request, "This OAuth client has no secret and cannot be used."};
    // RFC 6749 §3.1.2.3: simple string comparison; relative URIs allowed as JupyterHub does.
    if (redirect_uri != client->redirect_uri)
      return Error{Errc::bad_request, "The redirect_uri does not match the one registered for this client."};
    if (response_type != "code") {
      auto sep = redirect_uri.find('?') == std::string::npos ? "?" : "&";
      return redirect_uri + sep + "error=unsupported_response_type&state=" + enc(state);
    }
    bool own = client->user_id && *client->user_id == user.id;
    bool allowed = own || (access_check_ ? access_check_(user, *client) : (user.admin && admin_access_));
    if (!allowed) {
      log_.warn("oauth: '{}' refused access to {}", user.name, server_label(*client));
      return Error{Errc::forbidden, fmt::format("You do not have permission to access {}.", server_label(*client))};
    }
    // Scopes: the client's defaults (no `scope` parameter is sent by singleuser servers) plus
    // identify and access scopes; requested scopes outside that set are dropped.
    std::set<std::string> granted(client->allowed_scopes.begin(), client->allowed_scopes.end());
    for (auto const& s : identify_scopes(user.name)) granted.insert(s);
    std::vector<std::string> scopes(granted.begin(), granted.end());
    auto now = clock_.now();
    store::OAuthCodeRow row{.code_hash = token_hash(code), .client_id = client_id, .user_id = user.id,
                            .redirect_uri = redirect_uri, .scopes = scopes,
                            .session_id_hash = session_hash.empty() ? std::nullopt : std::optional<std::string>(session_hash),
                            .created = now, .expires = now + kCodeLifetime};
    if (auto r = store_.create_oauth_code(row); !r) return r.error();
    auto sep = redirect_uri.find('?') == std::string::npos ? "?" : "&";
    return redirect_uri + sep + "code=" + enc(code) + "&state=" + enc(state);
  };
  auto out = co_await run_blocking(pool_, std::move(work));
  co_return out;
}

net::awaitable<OAuthReply> OAuthProvider::token(std::multimap<std::string, std::string> form,
                                                std::string authorization) {
  auto client_id = first(form, "client_id");
  auto client_secret = first(form, "client_secret");
  if (authorization.size() > 6 && (authorization.starts_with("Basic ") || authorization.starts_with("basic "))) {
    auto pair = crypto::base64_decode(authorization.substr(6));
    if (pair) {
      auto colon = pair->find(':');
      if (colon != std::string::npos) {
        client_id = pair->substr(0, colon);
        client_secret = pair->substr(colon + 1);
      }
    }
  }
  auto work = [&]() -> Result<OAuthReply> {
    if (client_id.empty() || client_secret.empty())
      return oauth_error(401, "invalid_client", "client_id and client_secret are required");
    auto client = store_.get_oauth_client(client_id);
    if (!client) {
      if (client.error().code != Errc::not_found) return client.error();
      return oauth_error(401, "invalid_client", "unknown client");
    }
    if (!crypto::equal_ct(token_hash(client_secret), client->secret_hash))
      return oauth_error(401, "invalid_client", "client authentication failed");
    if (first(form, "grant_type") != "authorization_code")
      return oauth_error(400, "unsupported_grant_type", "only authorization_code is supported");
    auto code = store_.consume_oauth_code(token_hash(first(form, "code")));
    if (!code) {
      if (code.error().code != Errc::not_found) return code.error();
      return oauth_error(400, "invalid_grant", "the code is unknown, expired or already used");
    }
    if (code->client_id != client_id) return oauth_error(400, "invalid_grant", "the code was issued to another client");
    if (first(form, "redirect_uri") != code->redirect_uri)
      return oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization request");
    store::TokenRow spec{.user_id = code->user_id, .kind = "oauth", .scopes = code->scopes,
                         .note = "OAuth token for " + client_id,
                         .expires_at = clock_.now() + token_lifetime_,
                         .oauth_client_id = client_id, .session_id_hash = code->session_id_hash};
    auto issued = tokens_.issue(spec);
    if (!issued) return issued.error();
    std::string scope;
    for (auto const& s : code->scopes) scope += (scope.empty() ? "" : " ") + s;
    return OAuthReply{200, json::object{{"access_token", issued->raw}, {"token_type", "Bearer"},
                                        {"expires_in", token_lifetime_.count()}, {"scope", scope}}};
  };
  auto r = co_await run_blocking(pool_, std::move(work));
  if (!r) {
    log_.error("oauth token endpoint: {}", r.error().message);
    co_return oauth_error(503, "temporarily_unavailable", "the hub could not complete the request");
  }
  co_return std::move(*r);
}

}  // namespace nbhub::hub
