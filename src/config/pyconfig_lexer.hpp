#pragma once
// Python tokenizer for the jupyterhub_config.py importer (internal to config/). It follows
// Python's lexical rules for what the importer reads: names, numbers, string literals with
// prefixes, operators, logical lines (brackets and `\` join physical lines), indentation of each
// logical line, comments.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nbhub::config::py {

enum class Tok { name, number, string, op, newline, end };

struct Token {
  Tok type = Tok::end;
  std::string text;  // name, number or operator text; a string's decoded value (f-string: its
                     // raw body, decoded when evaluated)
  int line = 0;
  std::size_t begin = 0, end = 0;  // offsets in the source
  int indent = -1;                 // first token of a logical line: its column
  bool fstring = false;
  bool raw = false;
};

struct LexError {
  int line = 0;
  std::string message;  // Python's wording where it has one: "'(' was never closed"
};

struct LexResult {
  std::vector<Token> tokens;  // ends with Tok::end
  std::optional<LexError> error;
};

LexResult lex(std::string_view src);

// Python escape sequences of a non-raw string body (\n, \xhh, \u1234, \N{...} is kept as is).
std::string decode_escapes(std::string_view body);

}  // namespace nbhub::config::py
