#include "auth/login_state.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/crypto.hpp"

namespace nbhub::auth {

namespace json = boost::json;

namespace {
constexpr std::size_t kMaxConsumed = 100000;  // bounded: about 10 MB at worst
Error login_expired(std::string why) {
  return Error{Errc::bad_request, "Your sign-in could not be completed (" + why +
                                      "). Please start again from the login page."};
}
}  // namespace

LoginStateSealer::LoginStateSealer(Secret const& cookie_secret, Clock const& clock,
                                   Random& random, std::chrono::seconds ttl)
    : key_(crypto::hmac_sha256(cookie_secret.reveal(), "nbhub login-state cookie v1")),
      clock_(clock), random_(random), ttl_(ttl) {}

Result<std::string> LoginStateSealer::seal(LoginState const& s) {
  json::object o{{"p", s.provider}, {"s", s.state}, {"v", s.code_verifier},
                 {"n", s.nonce},    {"x", s.next},  {"t", s.issued_at}};
  auto iv = random_.bytes(12);
  if (!iv) return Error{Errc::internal, "The system random generator failed."};
  auto sealed = crypto::aes256gcm_seal(key_, *iv, json::serialize(o), kCookieName);
  if (!sealed) return Error{Errc::internal, "Sealing the login state failed."};
  return crypto::base64url_encode(*sealed);
}

Result<LoginState> LoginStateSealer::open(std::string_view cookie_value,
                                          std::string_view returned_state) {
  auto raw = crypto::base64url_decode(cookie_value);
  if (!raw) return login_expired("the login cookie is damaged");
  auto plain = crypto::aes256gcm_open(key_, *raw, kCookieName);
  if (!plain) return login_expired("the login cookie is not one this hub issued");
  boost::system::error_code ec;
  auto v = json::parse(*plain, ec);
  if (ec || !v.is_object()) return login_expired("the login cookie is damaged");
  auto const& o = v.get_object();
  auto str = [&](std::string_view k) -> std::string {
    auto it = o.find(k);
    return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
  };
  LoginState s{str("p"), str("s"), str("v"), str("n"), str("x"), 0};
  if (auto it = o.find("t"); it != o.end() && it->value().is_int64()) s.issued_at = it->value().get_int64();

  auto now = clock_.unix_seconds();
  if (now - s.issued_at > ttl_.count() || s.issued_at - now > 60)
    return login_expired("the sign-in took too long");
  // Fixed-length digests so the comparison leaks nothing about the state's length.
  if (!crypto::equal_ct(crypto::sha256(s.state), crypto::sha256(returned_state)))
    return login_expired("the state returned by the identity provider does not match this browser");

  auto id = crypto::sha256(s.state);
  std::lock_guard lock(mu_);
  if (consumed_.size() >= kMaxConsumed) std::erase_if(consumed_, [&](auto const& kv) { return kv.second < now; });
  if (consumed_.size() >= kMaxConsumed) consumed_.clear();  // still full: fall back to expiry alone
  if (!consumed_.emplace(id, s.issued_at + ttl_.count()).second)
    return login_expired("this sign-in response was already used");
  return s;
}

}  // namespace nbhub::auth
