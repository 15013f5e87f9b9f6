#pragma once
// UTF-8 checks for text that goes back out in JSON. Percent-decoding a path or a query can
// give any bytes ("%be"), and Boost.JSON writes a string's bytes as they are: an error message
// that echoes such input would not be JSON any client can parse.
#include <string>
#include <string_view>

namespace nbhub {

// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view s);
// `s` with every byte that is not part of a well-formed sequence replaced by U+FFFD.
std::string to_valid_utf8(std::string_view s);

}  // namespace nbhub
