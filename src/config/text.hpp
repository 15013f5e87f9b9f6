#pragma once
// Small text helpers shared by the loaders: spelling suggestions and quoting.
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nbhub::config {

// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), compared
// case-insensitively: "prot" is one edit from "port".
std::size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate within a distance that grows with the word (1 for short words, at most
// 3), or "" when nothing is close enough to be a likely typo.
std::string closest(std::string_view word, std::span<const std::string> candidates);

// "; did you mean `port`?" or "" (ready to append to a message).
std::string did_you_mean(std::string_view word, std::span<const std::string> candidates);

// A double-quoted string with \" \\ and control characters escaped, cut to `max` characters.
std::string dquoted(std::string_view s, std::size_t max = 80);

std::string to_upper_snake(std::string_view s);  // "my-idp.x" -> "MY_IDP_X"
std::string to_lower(std::string_view s);
std::string_view trim(std::string_view s);
std::vector<std::string> split_list(std::string_view text);  // "a, b,,c" -> {a, b, c}

}  // namespace nbhub::config
