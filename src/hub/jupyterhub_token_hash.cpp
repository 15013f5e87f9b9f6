#include "hub/jupyterhub_token_hash.hpp"

#include "core/crypto.hpp"

#include <openssl/evp.h>

#include <charconv>
#include <memory>

namespace nbhub::hub {

namespace {

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

}  // namespace

Result<JupyterHubHash> parse_jupyterhub_hash(std::string_view stored) {
  auto bad = [](std::string what) {
    return Error{Errc::bad_request, "not a JupyterHub token hash (algorithm:rounds:salt:digest): " + what};
  };
  std::string_view parts[4];
  for (int i = 0; i < 3; ++i) {
    auto colon = stored.find(':');
    if (colon == std::string_view::npos) return bad("fewer than four ':'-separated fields");
    parts[i] = stored.substr(0, colon);
    stored.remove_prefix(colon + 1);
  }
  parts[3] = stored;
  // compare_token splits on every ':' and expects exactly four fields.
  if (parts[3].find(':') != std::string_view::npos) return bad("more than four fields");
  if (parts[0] != "sha512") return bad("algorithm '" + std::string(parts[0].substr(0, 16)) + "' is not sha512");
  JupyterHubHash h;
  h.algorithm = std::string(parts[0]);
  auto [end, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), h.rounds);
  if (ec != std::errc{} || end != parts[1].data() + parts[1].size() || h.rounds == 0 ||
      h.rounds > kJupyterHubMaxRounds)
    return bad("rounds must be a number from 1 to " + std::to_string(kJupyterHubMaxRounds));
  if (parts[3].size() != 128 || !is_lower_hex(parts[3])) return bad("the digest is not 128 hex digits");
  h.salt = std::string(parts[2]);
  h.digest = std::string(parts[3]);
  return h;
}

std::string jupyterhub_hash_token(std::string_view raw, std::string_view salt,
                                  std::uint32_t rounds) {
  // One running hash fed salt then the token `rounds` times, as hashlib's h.update() loop;
  // never one concatenated buffer (16384 copies of the token).
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha512(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), salt.data(), salt.size()) != 1)
    return "";
  for (std::uint32_t i = 0; i < rounds; ++i)
    if (EVP_DigestUpdate(ctx.get(), raw.data(), raw.size()) != 1) return "";
  if (EVP_DigestFinal_ex(ctx.get(), out, &len) != 1) return "";
  return crypto::hex_encode(std::string_view(reinterpret_cast<char const*>(out), len));
}

bool verify_jupyterhub_token(std::string_view stored, std::string_view raw) {
  auto h = parse_jupyterhub_hash(stored);
  if (!h) return false;
  auto digest = jupyterhub_hash_token(raw, h->salt, h->rounds);
  // An OpenSSL failure gives "", which never equals a 128-digit digest.
  return crypto::equal_ct(digest, h->digest);
}

}  // namespace nbhub::hub
