#include "config/toml_loader.hpp"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "config/text.hpp"

namespace nbhub::config {

namespace {

int line_of(toml::source_region const& r) { return static_cast<int>(r.begin.line); }

// toml++ keeps a table's keys sorted by name; diagnostics and JSON text follow the file instead.
std::vector<std::pair<toml::key const*, toml::node const*>> in_file_order(toml::table const& t) {
  std::vector<std::pair<toml::key const*, toml::node const*>> out;
  for (auto const& [k, n] : t) out.emplace_back(&k, &n);
  std::stable_sort(out.begin(), out.end(), [](auto const& a, auto const& b) {
    auto const &x = a.first->source().begin, &y = b.first->source().begin;
    return x.line != y.line ? x.line < y.line : x.column < y.column;
  });
  return out;
}

Value to_value(toml::node const& n) {
  switch (n.type()) {
    case toml::node_type::string: return Value::of(std::string(*n.value<std::string_view>()));
    case toml::node_type::integer: return Value::of(*n.value<std::int64_t>());
    case toml::node_type::floating_point: return Value::of_real(*n.value<double>());
    case toml::node_type::boolean: return Value::of(*n.value<bool>());
    case toml::node_type::array: {
      auto v = Value::list();
      for (auto const& item : *n.as_array()) v.items.push_back(to_value(item));
      return v;
    }
    case toml::node_type::table: {
      auto v = Value::dict();
      for (auto const& [k, item] : in_file_order(*n.as_table()))
        v.entries.emplace_back(Value::of(std::string(k->str())), to_value(*item));
      return v;
    }
    default: {
      // A date or time nested in an array or table: no option takes one; keep its text.
      std::ostringstream os;
      n.visit([&](auto const& x) { os << x; });
      return Value::of(os.str());
    }
  }
}

std::string unknown_key_message(std::string_view section, std::string_view name) {
  auto candidates = keys_in(section);
  std::string msg = "unknown option, ignored" + did_you_mean(name, candidates);
  if (!section.empty()) {
    // A classic TOML slip: a top-level key written after a [table] header lands in that table.
    if (auto const* top = find_option(Scope::hub, name); top && top->section().empty())
      msg += fmt::format(" (top-level keys such as `{}` must come before the first [table])", name);
  }
  return msg;
}

// Keys of the first config layout: top-level `spawner = "docker"` and `[spawner_options]`.
Option const* renamed_option(std::string_view full, toml::node const& node) {
  if (full == "spawner_options") return find_option(Scope::hub, "spawner.options");
  if (full == "spawner" && node.is_string()) return find_option(Scope::hub, "spawner.kind");
  return nullptr;
}

class Walker {
 public:
  Walker(std::string const& file, ConfigBuilder& b) : file_(file), b_(b) {}

  void table(toml::table const& t, std::string const& section) {
    for (auto const& [kp, np] : in_file_order(t)) {
      auto const& k = *kp;
      auto const& node = *np;
      std::string const name(k.str());
      std::string const full = section.empty() ? name : section + "." + name;
      Origin where{file_, line_of(node.source()), full};
      if (full == "auth.providers") {
        providers(node, where);
      } else if (auto const* renamed = renamed_option(full, node)) {
        // Earlier spellings, still read so existing files keep working.
        b_.warn(where, fmt::format("now spelled `{}`; read as such", renamed->key));
        set(*renamed, node, where, -1);
      } else if (auto const* opt = find_option(Scope::hub, full)) {
        set(*opt, node, where, -1);
      } else if (std::find(sections().begin(), sections().end(), full) != sections().end()) {
        if (auto const* sub = node.as_table())
          table(*sub, full);
        else
          b_.error(where, "expected a table ([" + full + "])");
      } else {
        where.line = line_of(k.source());
        b_.warn(where, unknown_key_message(section, name));
      }
    }
  }

 private:
  void providers(toml::node const& node, Origin where) {
    auto const* arr = node.as_array();
    if (!arr || !arr->is_array_of_tables()) {
      b_.error(where, "expected an array of tables ([[auth.providers]])");
      return;
    }
    for (auto const& item : *arr) {
      auto const& t = *item.as_table();
      Origin at{file_, line_of(t.source()), ""};
      int index = b_.add_provider(at);
      at.option = fmt::format("auth.providers[{}]", index);
      for (auto const& [kp, np] : in_file_order(t)) {
        auto const& k = *kp;
        auto const& n = *np;
        std::string const name(k.str());
        Origin w{file_, line_of(n.source()), fmt::format("auth.providers[{}].{}", index, name)};
        if (auto const* opt = find_option(Scope::provider, name)) {
          set(*opt, n, w, index);
        } else {
          w.line = line_of(k.source());
          b_.warn(w, "unknown option, ignored" + did_you_mean(name, keys_in("auth.providers")));
        }
      }
    }
  }

  void set(Option const& opt, toml::node const& n, Origin const& where, int provider) {
    if (n.is_date() || n.is_time() || n.is_date_time()) {
      b_.error(where, "expected " + opt.type_name() + ", got a date or time");
      return;
    }
    auto v = to_value(n);
    if (provider < 0)
      b_.set(opt, v, where);
    else
      b_.set_provider(provider, opt, v, where);
  }

  std::string const& file_;
  ConfigBuilder& b_;
};

}  // namespace

void load_toml(std::string_view text, std::string const& file, ConfigBuilder& b) {
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(file));
  } catch (toml::parse_error const& e) {
    int const line = line_of(e.source());
    // toml++ may quote the text it choked on; never when that line holds a secret.
    std::string_view rest = text;
    for (int l = 1; l < line && !rest.empty(); ++l) {
      auto nl = rest.find('\n');
      rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    }
    auto lower = to_lower(rest.substr(0, rest.find('\n')));
    bool secret = lower.find("secret") != std::string::npos ||
                  lower.find("password") != std::string::npos;
    b.error(Origin{file, line, ""},
            secret ? std::string("TOML syntax error (details hidden: the line holds a secret)")
                   : fmt::format("TOML syntax error: {}", e.description()));
    return;
  }
  Walker(file, b).table(root, "");
}

}  // namespace nbhub::config
