#include "store/crypt_keeper.hpp"

#include "core/crypto.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cstdlib>

namespace nbhub::store {

namespace {

constexpr std::size_t kIvBytes = 12, kTagBytes = 16, kKeyBytes = 32;
constexpr std::string_view kVariables[] = {"NBHUB_CRYPT_KEY", "JUPYTERHUB_CRYPT_KEY"};
constexpr std::string_view kKeyForms =
    "each key must be 32 bytes written as 64 hex characters or 44 characters of base64; "
    "generate one with `openssl rand -hex 32`";

std::string_view purpose_name(CryptPurpose p) {
  switch (p) {
    case CryptPurpose::auth_state: return "auth_state";
    case CryptPurpose::id_token_hint: return "id_token_hint";
    case CryptPurpose::acme: return "acme";
  }
  return "unknown";
}

std::string make_aad(CryptPurpose purpose, std::string_view user_name) {
  std::string aad(1, static_cast<char>(CryptKeeper::kFormatVersion));
  aad += purpose_name(purpose);
  aad += '\0';  // the purpose names contain no NUL, so purpose and name cannot run together
  aad += user_name;
  return aad;
}

// Plaintext holds IdP tokens: wipe it before the allocator reuses the memory.
struct Wiped {
  std::string text;
  ~Wiped() { OPENSSL_cleanse(text.data(), text.size()); }
};

std::string_view trim(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<std::string> decode_key(std::string_view k) {
  std::optional<std::string> raw;
  if (k.size() == 64) {
    raw = crypto::hex_decode(k);
  } else if (k.size() == 44 && k.back() == '=') {
    // Python's urlsafe_b64decode maps -_ to +/ and then accepts either alphabet; so do we.
    std::string standard(k);
    std::replace(standard.begin(), standard.end(), '-', '+');
    std::replace(standard.begin(), standard.end(), '_', '/');
    raw = crypto::base64_decode(standard);
    OPENSSL_cleanse(standard.data(), standard.size());
  }
  if (raw && raw->size() != kKeyBytes) {
    OPENSSL_cleanse(raw->data(), raw->size());
    raw.reset();
  }
  return raw;
}

std::string key_error(std::string_view variable, std::size_t pos, std::size_t count,
                      std::size_t length) {
  std::string what;
  if (length == 64)
    what = "has 64 characters but is not hexadecimal";
  else if (length == 44)
    what = "has 44 characters but is not base64 of 32 bytes";
  else if (length == 32)
    what = "has 32 characters; raw keys, which JupyterHub accepts, are not: hex-encode it";
  else
    what = fmt::format("has {} characters", length);
  return fmt::format("{}: key {} of {} {}; {}", variable, pos, count, what, kKeyForms);
}

Result<std::vector<Secret>> parse_keys(std::string_view variable, std::string_view value) {
  std::vector<std::string_view> entries;
  for (std::size_t start = 0; start <= value.size();) {
    auto end = std::min(value.find(';', start), value.size());
    // Blank entries are skipped, as JupyterHub does, so "key;" is one key.
    if (auto entry = trim(value.substr(start, end - start)); !entry.empty())
      entries.push_back(entry);
    start = end + 1;
  }
  std::vector<Secret> keys;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto raw = decode_key(entries[i]);
    if (!raw)
      return make_error(Errc::config,
                        key_error(variable, i + 1, entries.size(), entries[i].size()));
    keys.emplace_back(std::move(*raw));
  }
  return keys;
}

}  // namespace

std::optional<std::string> CryptKeeper::process_env(std::string const& name) {
  if (const char* v = std::getenv(name.c_str())) return std::string(v);
  return std::nullopt;
}

Result<CryptKeeper> CryptKeeper::from_keys(std::string_view variable, std::string_view value,
                                           Random& random) {
  auto keys = parse_keys(variable, value);
  if (!keys) return keys.error();
  if (keys->empty()) return CryptKeeper(random, "", {});
  return CryptKeeper(random, std::string(variable), std::move(*keys));
}

Result<CryptKeeper> CryptKeeper::from_env(Random& random, EnvLookup const& env) {
  for (auto variable : kVariables) {
    auto value = env(std::string(variable));
    if (!value) continue;
    auto keeper = from_keys(variable, *value, random);
    // A malformed NBHUB_CRYPT_KEY is an error, not a reason to fall back to the other one.
    if (!keeper || keeper->enabled()) return keeper;
  }
  return CryptKeeper(random, "", {});
}

std::string_view CryptKeeper::disabled_warning() {
  return "auth_state is not stored because neither NBHUB_CRYPT_KEY nor JUPYTERHUB_CRYPT_KEY "
         "is set; generate a key with `openssl rand -hex 32`";
}

Result<std::string> CryptKeeper::encrypt(boost::json::value const& value,
                                         std::string_view user_name, CryptPurpose purpose) const {
  if (!enabled())
    return make_error(Errc::config, "encryption is disabled: " + std::string(disabled_warning()));
  auto iv = random_->bytes(kIvBytes);
  if (!iv)
    return make_error(Errc::unavailable,
                      "the random number generator failed, so " +
                          std::string(purpose_name(purpose)) +
                          " was not encrypted; check the system's entropy source");
  Wiped plaintext{boost::json::serialize(value)};
  auto sealed = crypto::aes256gcm_seal(keys_.front().reveal(), *iv, plaintext.text,
                                       make_aad(purpose, user_name));
  if (!sealed) return make_error(Errc::internal, "AES-256-GCM encryption failed in OpenSSL");
  return std::string(1, static_cast<char>(kFormatVersion)) + *sealed;
}

Result<CryptKeeper::Decrypted> CryptKeeper::decrypt(std::string_view sealed,
                                                    std::string_view user_name,
                                                    CryptPurpose purpose) const {
  auto what = fmt::format("{} of user '{}'", purpose_name(purpose), user_name);
  if (!enabled())
    return make_error(Errc::config, "cannot decrypt " + what + ": encryption is disabled: " +
                                        std::string(disabled_warning()));
  if (sealed.empty() || static_cast<std::uint8_t>(sealed.front()) != kFormatVersion) {
    // Fernet tokens are base64 text starting "gAAAAA" (version byte 0x80).
    bool fernet = sealed.starts_with("gAAAAA");
    return make_error(
        Errc::internal,
        fmt::format("{} is not in a format this nbhub can read{}; the user must log in again", what,
                    fernet ? " (it looks like JupyterHub's Fernet encryption)" : ""));
  }
  if (sealed.size() < 1 + kIvBytes + kTagBytes)
    return make_error(Errc::internal, what + " is truncated (" + std::to_string(sealed.size()) +
                                          " bytes); the user must log in again");
  auto aad = make_aad(purpose, user_name);
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    auto opened = crypto::aes256gcm_open(keys_[i].reveal(), sealed.substr(1), aad);
    if (!opened) continue;
    Wiped plaintext{std::move(*opened)};
    boost::system::error_code ec;
    auto value = boost::json::parse(plaintext.text, ec);
    if (ec) return make_error(Errc::internal, what + " decrypted to something that is not JSON");
    return Decrypted{std::move(value), i != 0};
  }
  return make_error(
      Errc::config,
      fmt::format("{} could not be decrypted with any of the {} key(s) in {}: the key that "
                  "encrypted it was removed, or the stored value was altered; the user must log "
                  "in again",
                  what, keys_.size(), variable_));
}

}  // namespace nbhub::store
