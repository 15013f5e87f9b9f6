#pragma once
// The verified payload of a JWT, with typed accessors.
//
// Path lookup (find/string/strings), used for configurable claims such as username and groups
// keys ("cognito:groups", "oauth_user.groups", "https://example.org/claims.groups"):
//   1. The whole remaining path is tried as one key first, so claim names containing dots
//      (URL-style namespaced claims) work without escaping.
//   2. Otherwise the path is split at a '.', trying the longest prefix that names an object
//      first, and the rest is looked up inside that object by the same rule (backtracking to
//      shorter prefixes if the rest is not found).
//   Only '.' separates; ':' and '/' are ordinary key characters, so "cognito:groups" is one
//   segment. No array indexing. Paths over kMaxClaimPathBytes find nothing.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace nbhub::jwt {

inline constexpr std::size_t kMaxClaimPathBytes = 512;

// RFC 7519 §2 NumericDate: integer or fractional seconds since the epoch; the fraction is
// dropped (floor). nullopt for non-numbers and values outside ±1e12 s (no overflow games).
std::optional<std::int64_t> numeric_date(boost::json::value const& v) noexcept;

class Claims {
 public:
  Claims() = default;
  explicit Claims(boost::json::object payload) : payload_(std::move(payload)) {}

  boost::json::object const& json() const noexcept { return payload_; }

  std::string_view sub() const noexcept;  // "" when absent or not a string
  std::string_view iss() const noexcept;  // likewise
  std::optional<std::int64_t> exp() const noexcept;
  std::optional<std::int64_t> nbf() const noexcept;
  std::optional<std::int64_t> iat() const noexcept;
  // `aud` as a list: a string gives one element, an array its string elements, else empty.
  std::vector<std::string> audiences() const;

  boost::json::value const* find(std::string_view path) const noexcept;
  // A string at `path`; nullopt when absent or not a string.
  std::optional<std::string> string(std::string_view path) const;
  // An array of strings (non-string elements are skipped) or a single string as one element;
  // nullopt when absent or of another type.
  std::optional<std::vector<std::string>> strings(std::string_view path) const;

 private:
  boost::json::object payload_;
};

}  // namespace nbhub::jwt
