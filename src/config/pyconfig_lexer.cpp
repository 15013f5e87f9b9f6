#include "config/pyconfig_lexer.hpp"

#include <cctype>

#include <fmt/format.h>

namespace nbhub::config::py {

namespace {

bool is_ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;  // non-ASCII identifiers: accept the bytes
}
bool is_ident(char c) { return is_ident_start(c) || std::isdigit(static_cast<unsigned char>(c)); }

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool hex_digits(std::string_view s, std::size_t at, std::size_t n, std::uint32_t& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 16 + static_cast<std::uint32_t>(std::isdigit(static_cast<unsigned char>(s[i]))
                                                    ? s[i] - '0'
                                                    : std::tolower(s[i]) - 'a' + 10);
  }
  return true;
}

constexpr std::string_view kOps3[] = {"**=", "//=", ">>=", "<<=", "..."};
constexpr std::string_view kOps2[] = {"==", "!=", "<=", ">=", "+=", "-=", "*=", "/=", "//",
                                      "**", "->", ":=", "%=", "&=", "|=", "^=", "<<", ">>"};
constexpr std::string_view kOps1 = "()[]{},:.;=+-*/%<>@&|^~";

}  // namespace

std::string decode_escapes(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    char e = s[++i];
    std::uint32_t cp = 0;
    switch (e) {
      case '\n': break;  // line continuation inside a string
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case 'x':
        if (hex_digits(s, i + 1, 2, cp)) {
          append_utf8(out, cp);
          i += 2;
        } else {
          out += "\\x";
        }
        break;
      case 'u':
      case 'U': {
        std::size_t n = e == 'u' ? 4 : 8;
        if (hex_digits(s, i + 1, n, cp)) {
          append_utf8(out, cp);
          i += n;
        } else {
          out += '\\';
          out += e;
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          std::uint32_t v = 0;
          std::size_t k = 0;
          while (k < 3 && i + k < s.size() && s[i + k] >= '0' && s[i + k] <= '7')
            v = v * 8 + static_cast<std::uint32_t>(s[i + k++] - '0');
          append_utf8(out, v);
          i += k - 1;
        } else {
          out += '\\';  // unknown escapes stay as written, as in Python
          out += e;
        }
    }
  }
  return out;
}

LexResult lex(std::string_view src) {
  LexResult r;
  std::size_t pos = 0;
  int line = 1;
  struct Open {
    char c;
    int line;
  };
  std::vector<Open> open;
  bool line_start = true;
  int indent = 0;

  auto fail = [&](int at, std::string msg) {
    r.error = LexError{at, std::move(msg)};
    return r;
  };
  auto push = [&](Token t) {
    if (line_start) {
      t.indent = indent;
      line_start = false;
    }
    r.tokens.push_back(std::move(t));
  };

  while (pos < src.size()) {
    if (line_start && open.empty()) {
      // Measure the indentation of a new logical line; blank and comment-only lines do not count.
      indent = 0;
      while (pos < src.size() && (src[pos] == ' ' || src[pos] == '\t' || src[pos] == '\f')) {
        indent = src[pos] == '\t' ? (indent / 8 + 1) * 8 : indent + 1;
        ++pos;
      }
      if (pos >= src.size()) break;
      if (src[pos] == '#') {
        while (pos < src.size() && src[pos] != '\n') ++pos;
        if (pos >= src.size()) break;  // a comment on the last line, no newline after it (fuzz_pyconfig)
      }
      if (pos < src.size() && (src[pos] == '\n' || src[pos] == '\r')) {
        if (src[pos] == '\n') ++line;
        ++pos;
        continue;
      }
    }
    char c = src[pos];
    if (c == ' ' || c == '\t' || c == '\f' || c == '\r') {
      ++pos;
      continue;
    }
    if (c == '#') {
      while (pos < src.size() && src[pos] != '\n') ++pos;
      continue;
    }
    if (c == '\\') {
      std::size_t k = pos + 1;
      if (k < src.size() && src[k] == '\r') ++k;
      if (k < src.size() && src[k] == '\n') {
        pos = k + 1;
        ++line;
        continue;
      }
      return fail(line, "unexpected character after line continuation character");
    }
    if (c == '\n') {
      if (open.empty() && !line_start && !r.tokens.empty() &&
          r.tokens.back().type != Tok::newline) {
        Token t{Tok::newline, "", line, pos, pos};
        r.tokens.push_back(t);
      }
      if (open.empty()) line_start = true;
      ++line;
      ++pos;
      continue;
    }

    // String literal, possibly with a prefix.
    std::size_t p = pos;
    bool raw = false, fstr = false, bytes = false, is_string = false;
    if (is_ident_start(c)) {
      std::size_t k = pos;
      while (k < src.size() && k - pos < 2 && std::isalpha(static_cast<unsigned char>(src[k])))
        ++k;
      for (std::size_t len = k - pos; len >= 1; --len) {
        if (pos + len < src.size() && (src[pos + len] == '\'' || src[pos + len] == '"')) {
          std::string pre;
          for (std::size_t i = pos; i < pos + len; ++i)
            pre += static_cast<char>(std::tolower(static_cast<unsigned char>(src[i])));
          if (pre == "r" || pre == "u" || pre == "b" || pre == "f" || pre == "br" ||
              pre == "rb" || pre == "fr" || pre == "rf") {
            raw = pre.find('r') != std::string::npos;
            fstr = pre.find('f') != std::string::npos;
            bytes = pre.find('b') != std::string::npos;
            p = pos + len;
            is_string = true;
          }
          break;
        }
      }
    }
    if (c == '\'' || c == '"') is_string = true;
    if (is_string) {
      char q = src[p];
      bool triple = p + 2 < src.size() && src[p + 1] == q && src[p + 2] == q;
      std::size_t body = p + (triple ? 3 : 1);
      std::size_t k = body;
      int start_line = line;
      bool closed = false;
      while (k < src.size()) {
        if (src[k] == '\\' && k + 1 < src.size()) {
          if (src[k + 1] == '\n') ++line;
          k += 2;
          continue;
        }
        if (src[k] == '\n') {
          if (!triple)
            return fail(start_line,
                        fmt::format("unterminated string literal (detected at line {})", line));
          ++line;
        }
        if (src[k] == q && (!triple || (k + 2 < src.size() && src[k + 1] == q && src[k + 2] == q))) {
          closed = true;
          break;
        }
        ++k;
      }
      if (!closed)
        return fail(start_line,
                    triple ? fmt::format("unterminated triple-quoted string literal (detected at "
                                         "line {})",
                                         line)
                           : fmt::format("unterminated string literal (detected at line {})",
                                         line));
      std::string_view text = src.substr(body, k - body);
      Token t{Tok::string, "", start_line, pos, k + (triple ? 3 : 1)};
      t.fstring = fstr;
      t.raw = raw;
      t.text = (raw || fstr) ? std::string(text) : decode_escapes(text);
      (void)bytes;  // b'...' reads as its text; no option takes bytes
      push(std::move(t));
      pos = k + (triple ? 3 : 1);
      continue;
    }

    if (is_ident_start(c)) {
      std::size_t k = pos;
      while (k < src.size() && is_ident(src[k])) ++k;
      push(Token{Tok::name, std::string(src.substr(pos, k - pos)), line, pos, k});
      pos = k;
      continue;
    }

    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && pos + 1 < src.size() && std::isdigit(static_cast<unsigned char>(src[pos + 1])))) {
      std::size_t k = pos;
      while (k < src.size() &&
             (std::isalnum(static_cast<unsigned char>(src[k])) || src[k] == '_' || src[k] == '.' ||
              ((src[k] == '+' || src[k] == '-') && (src[k - 1] == 'e' || src[k - 1] == 'E') &&
               !(src[pos] == '0' && pos + 1 < src.size() &&
                 (src[pos + 1] == 'x' || src[pos + 1] == 'X')))))
        ++k;
      push(Token{Tok::number, std::string(src.substr(pos, k - pos)), line, pos, k});
      pos = k;
      continue;
    }

    std::string_view op;
    for (auto o : kOps3)
      if (src.substr(pos, 3) == o) op = o;
    if (op.empty())
      for (auto o : kOps2)
        if (src.substr(pos, 2) == o) op = o;
    if (op.empty() && kOps1.find(c) != std::string_view::npos) op = src.substr(pos, 1);
    if (op.empty()) {
      return fail(line, fmt::format("invalid character '{}' (U+{:04X})", c,
                                    static_cast<unsigned>(static_cast<unsigned char>(c))));
    }
    if (op == "(" || op == "[" || op == "{") {
      open.push_back({op[0], line});
    } else if (op == ")" || op == "]" || op == "}") {
      char want = op == ")" ? '(' : op == "]" ? '[' : '{';
      if (open.empty()) return fail(line, fmt::format("unmatched '{}'", op));
      if (open.back().c != want)
        return fail(line, fmt::format("closing parenthesis '{}' does not match opening "
                                      "parenthesis '{}'",
                                      op, open.back().c));
      open.pop_back();
    }
    push(Token{Tok::op, std::string(op), line, pos, pos + op.size()});
    pos += op.size();
  }
  if (!open.empty()) return fail(open.back().line, fmt::format("'{}' was never closed", open.back().c));
  if (!r.tokens.empty() && r.tokens.back().type != Tok::newline)
    r.tokens.push_back(Token{Tok::newline, "", line, src.size(), src.size()});
  r.tokens.push_back(Token{Tok::end, "", line, src.size(), src.size()});
  return r;
}

}  // namespace nbhub::config::py
