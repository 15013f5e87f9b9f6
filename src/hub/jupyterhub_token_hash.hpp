#pragma once
// JupyterHub's token hashes, so that tokens imported from a JupyterHub database keep working.
//
// JupyterHub (jupyterhub/orm.py `Hashed`, jupyterhub/utils.py `hash_token`/`compare_token`)
// stores "algorithm:rounds:salt:digest", digest = hex(H(salt || token || token || ... )) with
// the token fed `rounds` times into one running hash. Generated tokens (all of 3.0's API
// tokens) use sha512, 1 round and an 8-byte hex salt; user-chosen tokens 16384 rounds. The
// stored prefix is the token's first 4 characters, as nbhub's own prefix.
//
// Only sha512 is accepted: it is the only algorithm JupyterHub has ever written, and a
// different word in an imported row is more likely damage than a real hash.
#include "core/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace nbhub::hub {

struct JupyterHubHash {
  std::string algorithm;  // "sha512"
  std::uint32_t rounds = 0;
  std::string salt;       // used as its UTF-8 text, exactly as JupyterHub does
  std::string digest;     // lowercase hex
};

// At most this many rounds: bounds the work a (damaged or hostile) imported row can cause per
// request. JupyterHub's highest is 16384.
inline constexpr std::uint32_t kJupyterHubMaxRounds = 1u << 20;

// bad_request names what is wrong without repeating the hash (it is a secret's verifier).
Result<JupyterHubHash> parse_jupyterhub_hash(std::string_view stored);

// hash_token(raw, salt=salt, rounds=rounds, algorithm="sha512") as JupyterHub computes it.
std::string jupyterhub_hash_token(std::string_view raw, std::string_view salt,
                                  std::uint32_t rounds);

// compare_token: true when `raw` hashes to `stored`; the digests are compared in constant
// time. False for an unparsable `stored`.
bool verify_jupyterhub_token(std::string_view stored, std::string_view raw);

}  // namespace nbhub::hub
