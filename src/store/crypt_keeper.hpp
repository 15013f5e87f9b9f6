#pragma once
// Encryption at rest for auth_state (the IdP's tokens) and other per-user secrets the store
// keeps, as JupyterHub's CryptKeeper does (spec/auth.md §2.1), but with AES-256-GCM.
//
// Keys: env NBHUB_CRYPT_KEY if set and not blank, else JUPYTERHUB_CRYPT_KEY, so an existing
// JupyterHub deployment keeps its key. A `;`-separated list; blank entries are skipped and
// each entry is trimmed of spaces. Each key is 32 bytes written as 64 hex characters or as
// 44 characters of base64 (urlsafe, or standard as `openssl rand -base64 32` prints it; like
// JupyterHub, which also accepts both). The first key encrypts; every key is tried to decrypt,
// so rotation is: put the new key first, keep the old one until every user logged in again.
//
// Format of a sealed value: version byte 0x01 | IV (12, from Random) | ciphertext | GCM tag
// (16). The AAD is the version byte, the purpose and the user name, so a value cannot be moved
// to another user or another column, and a later format can change everything after byte 0.
//
// Not compatible with JupyterHub's Fernet tokens: a database imported from JupyterHub needs
// its users to log in again (decrypt fails with a message saying so).
//
// Thread safety: const methods may run concurrently when the Random does (OpenSslRandom does).
#include "core/random.hpp"
#include "core/result.hpp"
#include "core/secret.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nbhub::store {

// What a sealed value is for; part of the AAD.
enum class CryptPurpose {
  auth_state,     // users.encrypted_auth_state
  id_token_hint,  // sessions.id_token_hint_encrypted, for RP-initiated logout
  acme,           // acme_records.sealed (the "user name" is the record's name)
};

class CryptKeeper {
 public:
  // Returns the variable's value, or nullopt when unset. Injected so tests need no setenv.
  using EnvLookup = std::function<std::optional<std::string>(std::string const& name)>;
  static std::optional<std::string> process_env(std::string const& name);

  static constexpr std::uint8_t kFormatVersion = 1;

  // Startup: reads the keys as described above. No variable set: a disabled keeper (not an
  // error; see disabled_warning()). Errc::config for a key of the wrong form, naming the
  // variable and the key's position, never its value.
  static Result<CryptKeeper> from_env(Random& random, EnvLookup const& env = &process_env);
  // The same parsing for one variable's value; `variable` only names it in messages.
  static Result<CryptKeeper> from_keys(std::string_view variable, std::string_view value,
                                       Random& random);

  // false: no keys. Callers then store no auth_state at all and log disabled_warning().
  bool enabled() const { return !keys_.empty(); }
  std::size_t key_count() const { return keys_.size(); }
  std::string const& variable() const { return variable_; }  // where the keys came from
  static std::string_view disabled_warning();

  // Seals `value` (serialized compactly) with the first key. Errors: config when disabled,
  // unavailable when the random generator fails.
  Result<std::string> encrypt(boost::json::value const& value, std::string_view user_name,
                              CryptPurpose purpose = CryptPurpose::auth_state) const;

  struct Decrypted {
    boost::json::value value;
    bool needs_reencrypt = false;  // opened by a key other than the first: store it again
  };
  // Errors: config when disabled, or when no configured key opens the value (the key that
  // sealed it was removed, or the value, user name or purpose do not match: GCM cannot tell
  // these apart); internal for a truncated value, an unknown format version, or plaintext that
  // is not JSON. Callers treat any error as "no auth_state": the user must log in again.
  Result<Decrypted> decrypt(std::string_view sealed, std::string_view user_name,
                            CryptPurpose purpose = CryptPurpose::auth_state) const;

 private:
  CryptKeeper(Random& random, std::string variable, std::vector<Secret> keys)
      : random_(&random), variable_(std::move(variable)), keys_(std::move(keys)) {}

  Random* random_;            // not owned; outlives the keeper
  std::string variable_;      // "NBHUB_CRYPT_KEY", "JUPYTERHUB_CRYPT_KEY" or "" when disabled
  std::vector<Secret> keys_;  // raw 32-byte keys, first one encrypts
};

}  // namespace nbhub::store
