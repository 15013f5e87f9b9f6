#include "hub/tokens.hpp"

#include <cctype>

#include "core/crypto.hpp"
#include "hub/blocking.hpp"
#include "hub/jupyterhub_token_hash.hpp"
#include "store/store.hpp"

namespace nbhub::hub {

namespace net = boost::asio;

std::string token_hash(std::string_view raw) { return crypto::hex_encode(crypto::sha256(raw)); }

TokenService::TokenService(store::Store& store, Clock const& clock, Random& random, net::thread_pool& pool)
    : store_(store), clock_(clock), random_(random), pool_(pool) {}

Result<IssuedToken> TokenService::issue(store::TokenRow spec) {
  auto raw = random_.token(32);
  if (!raw) return Error{Errc::internal, "The system random generator failed."};
  spec.prefix = raw->substr(0, 4);
  spec.hash = token_hash(*raw);
  spec.created = clock_.now();
  auto row = store_.create_token(spec);
  if (!row) return row.error();
  return IssuedToken{*raw, *row};
}

net::awaitable<Result<IssuedToken>> TokenService::issue_async(store::TokenRow spec) {
  auto work = [this, spec = std::move(spec)]() mutable { return issue(std::move(spec)); };
  auto out = co_await run_blocking(pool_, std::move(work));
  co_return out;
}

net::awaitable<Result<store::TokenRow>> TokenService::resolve(std::string raw) {
  if (raw.empty() || raw.size() > 512) co_return Error{Errc::not_found, "Invalid token."};
  auto work = [this, raw = std::move(raw)]() -> Result<store::TokenRow> {
    auto found = store_.find_token(token_hash(raw));
    if (found || found.error().code != Errc::not_found) return found;
    // Not one of ours: maybe a token imported from JupyterHub, kept under JupyterHub's own
    // hash scheme (store migration 3). Found by its 4-character prefix, then verified.
    auto imported = store_.find_imported_tokens(raw.substr(0, 4));
    if (!imported) return imported.error();
    for (auto& [row, foreign_hash] : *imported)
      if (verify_jupyterhub_token(foreign_hash, raw)) return std::move(row);
    return found;
  };
  auto out = co_await run_blocking(pool_, std::move(work));
  co_return out;
}

std::string TokenService::from_authorization(std::string_view h) {
  auto sp = h.find(' ');
  if (sp == std::string_view::npos) return "";
  auto scheme = h.substr(0, sp);
  auto lower = [](std::string_view s) {
    std::string o(s);
    for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return o;
  };
  auto s = lower(scheme);
  if (s != "token" && s != "bearer") return "";
  auto rest = h.substr(sp + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  return std::string(rest);
}

}  // namespace nbhub::hub
