#include "config/pyconfig_parser.hpp"

#include <fmt/format.h>

#include "config/pyconfig_reader.hpp"
#include "config/text.hpp"

namespace nbhub::config::py {

namespace {
constexpr std::string_view kCompound[] = {"if",   "elif", "else",  "for",   "while", "def",
                                          "class", "with", "try",  "except", "finally",
                                          "async", "match"};
}  // namespace

std::string one_line(std::string_view s, std::size_t max) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() > max) out = out.substr(0, max) + "...";
  return out;
}

void Reader::run() {
  std::size_t i = 0;
  int skip_deeper_than = -1;  // skipping the block of a compound statement we cannot read
  while (toks_[i].type != Tok::end) {
    if (toks_[i].type == Tok::newline) {
      ++i;
      continue;
    }
    // One statement: up to the end of the logical line or a ';'.
    std::size_t end = i;
    while (toks_[end].type != Tok::newline && toks_[end].type != Tok::end &&
           !(toks_[end].type == Tok::op && toks_[end].text == ";"))
      ++end;
    if (end == i) {  // an empty statement between two ';'
      ++i;
      continue;
    }
    int indent = toks_[i].indent;
    if (indent >= 0) {
      if (skip_deeper_than >= 0 && indent > skip_deeper_than) {
        i = end;
        continue;
      }
      skip_deeper_than = -1;
      if (indent > 0) {
        syntax_error(toks_[i].line, "unexpected indent");
        return;
      }
    }
    begin_ = i;
    i_ = i;
    end_ = end;
    bool compound = statement();
    if (compound && skip_deeper_than < 0) skip_deeper_than = std::max(indent, 0);
    i = end;
    if (toks_[i].type == Tok::op && toks_[i].text == ";") ++i;
  }
}

// ---- statements -------------------------------------------------------------------------
// Returns true when the statement opened a block (its indented lines are skipped).
bool Reader::statement() {
  int const line = peek().line;
  auto const& first = peek();
  try {
    if (first.type == Tok::name) {
      for (auto kw : kCompound)
        if (first.text == kw) {
          // Remember what a def or class would have defined, for a clearer message later.
          if ((kw == "def" || kw == "class") && peek(1).type == Tok::name && end_ > i_ + 1)
            python_defs_[peek(1).text] = line;
          error(line, "",
                fmt::format("cannot read `{}` statements without running Python; the block is "
                            "skipped: `{}`",
                            kw, statement_text()));
          return true;
        }
      if (first.text == "import") return import_stmt(), false;
      if (first.text == "from") return from_stmt(), false;
      if (first.text == "pass") return false;
      if (first.text == "c" && at_op(".", 1)) return config_stmt(), false;
      if (at_op("=", 1)) return variable_stmt(), false;
    }
    if (first.type == Tok::string && end_ - i_ == 1) return false;  // a docstring
  } catch (EvalError const& e) {
    if (first.type == Tok::name && is_secret_trait(first.text))
      error(line, "", fmt::format("cannot read the assignment to {} (details hidden: a secret)",
                                  first.text));
    else
      error(line, "", fmt::format("cannot read `{}`: {}", statement_text(), e.message));
    return false;
  }
  bool opens_block = end_ > begin_ && toks_[end_ - 1].type == Tok::op && toks_[end_ - 1].text == ":";
  error(line, "",
        fmt::format("cannot read this statement without running Python (nbhub reads imports, "
                    "`c.Section.trait = value` and simple variables): `{}`",
                    statement_text()));
  return opens_block;
}

std::string Reader::dotted_name() {
  std::string name = expect_name();
  while (at_op(".")) {
    ++i_;
    name += "." + expect_name();
  }
  return name;
}

void Reader::import_stmt() {
  next();  // import
  do {
    std::string module = dotted_name();
    if (at_name("as")) {
      ++i_;
      modules_[expect_name()] = module;
    } else {
      auto root = module.substr(0, module.find('.'));
      modules_[root] = root;
    }
    if (!at_op(",")) break;
    ++i_;
  } while (true);
  if (more()) throw EvalError{"unexpected '" + peek().text + "'"};
}

void Reader::from_stmt() {
  next();  // from
  if (at_op(".")) throw EvalError{"relative imports are not supported"};
  std::string module = dotted_name();
  if (!at_name("import")) throw EvalError{"expected 'import'"};
  ++i_;
  if (at_op("*")) {
    warn(peek().line, "", fmt::format("`from {} import *` names nothing nbhub can see", module));
    return;
  }
  bool paren = at_op("(");
  if (paren) ++i_;
  do {
    if (paren && at_op(")")) break;
    std::string name = expect_name();
    std::string bound = name;
    if (at_name("as")) {
      ++i_;
      bound = expect_name();
    }
    names_[bound] = module + "." + name;
    if (!at_op(",")) break;
    ++i_;
  } while (true);
  if (paren) expect_op(")");
  if (more()) throw EvalError{"unexpected '" + peek().text + "'"};
}

void Reader::variable_stmt() {
  std::string name = next().text;
  ++i_;  // =
  if (name == "c") {
    // c = get_config()
    if (at_name("get_config") && at_op("(", 1) && at_op(")", 2) && end_ - i_ == 3) return;
    throw EvalError{"`c` may only be assigned get_config()"};
  }
  variables_[name] = expr_value();
  if (more()) throw EvalError{"unexpected '" + peek().text + "'"};
}

void Reader::config_stmt() {
  int const line = peek().line;
  next();  // c
  expect_op(".");
  std::string section = expect_name();
  expect_op(".");
  std::string trait = expect_name();
  std::string const option = section + "." + trait;
  bool const secret = is_secret_trait(trait);
  Assignment a;
  a.line = line;
  a.section = section;
  a.trait = trait;
  std::size_t value_start = begin_;  // the whole statement until the value starts
  try {
    if (at_op("=")) {
      ++i_;
      value_start = i_;
      a.op = Assignment::Op::assign;
      a.value = expr_value();
    } else if (at_op("+=")) {
      ++i_;
      value_start = i_;
      a.op = Assignment::Op::iadd;
      a.value = expr_value();
    } else if (at_op(".")) {
      ++i_;
      std::string method = expect_name();
      static const std::map<std::string, Assignment::Op> methods = {
          {"update", Assignment::Op::update},
          {"append", Assignment::Op::append},
          {"extend", Assignment::Op::extend},
          {"add", Assignment::Op::add}};
      auto m = methods.find(method);
      if (m == methods.end())
        throw EvalError{fmt::format("the method .{}() is not supported (only update, append, "
                                    "extend, add)",
                                    method)};
      a.op = m->second;
      expect_op("(");
      value_start = i_;
      a.value = expr_value();
      expect_op(")");
    } else if (at_op("[")) {
      throw EvalError{"item assignment is not supported; assign the whole value"};
    } else {
      throw EvalError{more() ? "expected '=' before '" + peek().text + "'" : "expected '='"};
    }
    if (more()) throw EvalError{"unexpected '" + peek().text + "'"};
  } catch (EvalError const& e) {
    if (secret)
      error(line, option,
            e.shows_value ? "cannot read the value (details hidden: a secret)"
                          : "cannot read the value: " + e.message);
    else
      error(line, option, fmt::format("cannot read `{}`: {}", text_from(value_start), e.message));
    return;
  }
  a.text = secret ? std::string{} : text_from(value_start);
  out_.assignments.push_back(std::move(a));
}

bool is_secret_trait(std::string_view trait) {
  auto t = to_lower(trait);
  for (auto word : {"secret", "password", "token", "crypt"})
    if (t.find(word) != std::string::npos && t != "token_url" && t != "token_params" &&
        t != "extra_params" && t != "auth_refresh_age")
      return true;
  return false;
}

ParseResult parse(std::string_view source, std::string const& file,
                  std::map<std::string, std::string> const& env) {
  ParseResult out;
  auto lexed = lex(source);
  if (lexed.error) {
    out.diagnostics.push_back(
        {file, lexed.error->line, "", "syntax error: " + lexed.error->message, true});
    out.syntax_error = true;
    return out;
  }
  Reader(source, std::move(lexed.tokens), file, env, out).run();
  if (out.syntax_error) out.assignments.clear();
  return out;
}

}  // namespace nbhub::config::py
