#pragma once
// Small cryptographic helpers over OpenSSL 3 (EVP). One place, tested hardest (STYLE.md §7).
#include "core/result.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nbhub::crypto {

// Constant-time comparison (CRYPTO_memcmp). Different lengths compare unequal; callers compare
// fixed-length digests so that the length leaks nothing.
bool equal_ct(std::string_view a, std::string_view b) noexcept;

std::string sha256(std::string_view data);                          // raw 32 bytes
std::string sha512(std::string_view data);                          // raw 64 bytes
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes

std::string base64url_encode(std::string_view raw);  // no padding (RFC 7515 §2)
std::optional<std::string> base64url_decode(std::string_view text);  // accepts missing padding
std::string base64_encode(std::string_view raw);
std::optional<std::string> base64_decode(std::string_view text);
std::string hex_encode(std::string_view raw);
std::optional<std::string> hex_decode(std::string_view text);

// AES-256-GCM: output is iv(12) | ciphertext | tag(16). `aad` binds the ciphertext to its use
// (e.g. the cookie name), so a value cannot be replayed under another name.
std::optional<std::string> aes256gcm_seal(std::string_view key32, std::string_view iv12,
                                          std::string_view plaintext, std::string_view aad);
std::optional<std::string> aes256gcm_open(std::string_view key32, std::string_view sealed,
                                          std::string_view aad);

}  // namespace nbhub::crypto
