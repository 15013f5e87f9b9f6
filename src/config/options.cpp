#include "config/options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include "config/text.hpp"

namespace nbhub::config {

namespace {

constexpr std::string_view kProvidersSection = "auth.providers";

// ---- conversions ----------------------------------------------------------------------

std::string with_got(Option const& opt, std::string expected, Value const& v, bool python) {
  if (opt.secret) return expected;
  return expected + ", got " + (v.from_text ? dquoted(v.string) : describe(v, python));
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  s = trim(s);
  std::int64_t out = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return out;
}

// An integer from an integer value, an integral real, or text.
std::optional<std::int64_t> as_int(Value const& v) {
  if (v.from_text) return parse_int(v.string);
  if (v.kind == Value::Kind::integer) return v.integer;
  if (v.kind == Value::Kind::real && std::isfinite(v.real) && std::trunc(v.real) == v.real &&
      std::abs(v.real) < 9e15)
    return static_cast<std::int64_t>(v.real);
  return std::nullopt;
}

std::optional<bool> as_bool(Value const& v) {
  if (v.from_text) {
    auto s = to_lower(trim(v.string));
    if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "0" || s == "no" || s == "off") return false;
    return std::nullopt;
  }
  if (v.kind == Value::Kind::boolean) return v.boolean;
  return std::nullopt;
}

bool is_http_url(std::string_view s) {
  auto u = boost::urls::parse_absolute_uri(s);
  if (!u) return false;
  auto scheme = to_lower(u->scheme());
  return (scheme == "http" || scheme == "https") && u->has_authority() &&
         !u->encoded_host().empty();
}

bool is_db_url(std::string_view s) {
  return s.starts_with("sqlite:///") || s == "sqlite://" ||
         (s.starts_with("postgresql://") && s.size() > 13) ||
         (s.starts_with("postgres://") && s.size() > 11);
}

bool is_name(std::string_view s) {
  if (s.empty() || !(std::islower(static_cast<unsigned char>(s[0])) ||
                     std::isdigit(static_cast<unsigned char>(s[0]))))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

std::string choices_text(Option const& opt) {
  std::string out;
  for (auto const& c : opt.choices) out += (out.empty() ? "" : ", ") + c;
  return out;
}

// Strings checked against the option's format; the stored text may be normalised.
std::string assign_string(Option const& opt, Value const& v, std::string& out, bool python) {
  std::string s;
  if (v.kind == Value::Kind::string) {
    s = v.string;
  } else if (v.kind == Value::Kind::none && python && opt.format != Format::json) {
    s.clear();  // traitlets' allow_none strings: None means unset
  } else if (opt.format == Format::json &&
             (v.kind == Value::Kind::list || v.kind == Value::Kind::none)) {
    if (v.kind == Value::Kind::none) {
      out = "[]";
      return {};
    }
    out = to_json(v);
    return {};
  } else {
    std::string what = opt.format == Format::json
                           ? (python ? "expected a list of dicts" : "expected an array of tables")
                           : "expected a string";
    if (opt.format == Format::choice || opt.format == Format::log_level)
      what = "expected one of " + choices_text(opt);
    return with_got(opt, what, v, python);
  }

  switch (opt.format) {
    case Format::plain:
    case Format::path: break;
    case Format::url:
      if (!s.empty() && !is_http_url(s))
        return with_got(opt, "expected an http:// or https:// URL", v, python);
      break;
    case Format::bind_url: {
      auto u = boost::urls::parse_absolute_uri(s);
      if (!u || to_lower(u->scheme()) != "http" || !u->has_authority() || !u->has_port())
        return with_got(opt, "expected http://HOST:PORT (an empty HOST listens on all interfaces)",
                        v, python);
      break;
    }
    case Format::base_url:
      if (s.empty() || s.front() != '/')
        return with_got(opt, "expected a path starting with '/'", v, python);
      if (s.back() != '/') s += '/';
      break;
    case Format::db_url:
      if (!is_db_url(s))
        return with_got(opt, "expected sqlite:///PATH, sqlite:// or postgresql://...", v, python);
      break;
    case Format::log_level: {
      auto l = to_lower(trim(s));
      if (l == "warning") l = "warn";
      if (l == "fatal") l = "critical";
      if (std::find(opt.choices.begin(), opt.choices.end(), l) == opt.choices.end())
        return with_got(opt, "expected one of " + choices_text(opt), v, python);
      s = l;
      break;
    }
    case Format::choice: {
      auto l = to_lower(trim(s));
      if (std::find(opt.choices.begin(), opt.choices.end(), l) == opt.choices.end())
        return with_got(opt, "expected one of " + choices_text(opt), v, python);
      s = l;
      break;
    }
    case Format::name:
      if (!s.empty() && !is_name(s))  // "" = named after its kind
        return with_got(opt, "expected a name of lower-case letters, digits, '-' and '_'", v,
                        python);
      break;
    case Format::json: {
      boost::system::error_code ec;
      auto j = boost::json::parse(s, ec);
      if (ec || !j.is_array())
        return with_got(opt, "expected a JSON array", v, python);
      s = boost::json::serialize(j);
      break;
    }
  }
  out = std::move(s);
  return {};
}

std::string assign_list(Option const& opt, Value const& v, std::vector<std::string>& out,
                        bool python) {
  std::string const what = python ? "expected a list of strings" : "expected an array of strings";
  if (v.from_text) {
    out = split_list(v.string);
    return {};
  }
  if (v.kind == Value::Kind::none && python) {
    out.clear();
    return {};
  }
  if (v.kind != Value::Kind::list) return with_got(opt, what, v, python);
  std::vector<std::string> items;
  for (auto const& i : v.items) {
    if (i.kind != Value::Kind::string) return what + ", got an item " + describe(i, python);
    items.push_back(i.string);
  }
  out = std::move(items);
  return {};
}

std::string assign_map(Option const& opt, Value const& v, std::map<std::string, std::string>& out,
                       bool python) {
  std::string const what =
      python ? "expected a dict of strings" : "expected a table of strings";
  if (v.from_text) {
    std::map<std::string, std::string> m;
    for (auto const& item : split_list(v.string)) {
      auto eq = item.find('=');
      if (eq == std::string::npos) return with_got(opt, what + " (key=value,...)", v, python);
      m[std::string(trim(std::string_view(item).substr(0, eq)))] =
          std::string(trim(std::string_view(item).substr(eq + 1)));
    }
    out = std::move(m);
    return {};
  }
  if (v.kind == Value::Kind::none && python) {
    out.clear();
    return {};
  }
  if (v.kind != Value::Kind::dict) return with_got(opt, what, v, python);
  std::map<std::string, std::string> m;
  for (auto const& [k, val] : v.entries) {
    if (k.kind != Value::Kind::string ||
        val.kind == Value::Kind::list || val.kind == Value::Kind::dict ||
        val.kind == Value::Kind::none)
      return what + ", got the entry " + describe(k, python) + " = " + describe(val, python);
    m[k.string] = python ? python_str(val) : (val.kind == Value::Kind::boolean
                                                   ? (val.boolean ? "true" : "false")
                                                   : python_str(val));
  }
  out = std::move(m);
  return {};
}

}  // namespace

std::span<const std::string> sections() {
  static const std::vector<std::string> s = {
      "", "http", "http_client", "spawner", "proxy", "cull", "managed_services", "python", "tls", "tls.acme",
      "auth", std::string(kProvidersSection)};
  return s;
}

std::string Option::section() const {
  if (scope == Scope::provider) return std::string(kProvidersSection);
  auto dot = key.rfind('.');
  return dot == std::string::npos ? std::string{} : key.substr(0, dot);
}

std::string Option::name() const {
  auto dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

std::string Option::env_name(std::string_view provider) const {
  if (scope == Scope::provider)
    return "NBHUB_AUTH_PROVIDER_" +
           (provider == "<NAME>" ? std::string(provider) : to_upper_snake(provider)) + "_" +
           to_upper_snake(name());
  return "NBHUB_" + to_upper_snake(key);
}

std::string Option::display(int index) const {
  if (scope == Scope::provider)
    return fmt::format("{}[{}].{}", kProvidersSection, index < 0 ? 0 : index, key);
  return key;
}

std::string Option::type_name() const {
  HubConfig h;
  ProviderConfig p;
  auto ref = field(h, p);
  return std::visit(
      [&](auto* f) -> std::string {
        using T = std::remove_pointer_t<decltype(f)>;
        if constexpr (std::is_same_v<T, std::string>) {
          switch (format) {
            case Format::url:
            case Format::bind_url: return "URL";
            case Format::path: return "path";
            case Format::base_url: return "path";
            case Format::db_url: return "database URL";
            case Format::choice:
            case Format::log_level: return "one of " + choices_text(*this);
            case Format::name: return "name";
            case Format::json: return "array of tables";
            case Format::plain: return "string";
          }
          return "string";
        } else if constexpr (std::is_same_v<T, Secret>) {
          return "secret string";
        } else if constexpr (std::is_same_v<T, bool>) {
          return "boolean";
        } else if constexpr (std::is_same_v<T, std::uint16_t>) {
          return "port (0-65535)";
        } else if constexpr (std::is_same_v<T, std::size_t>) {
          return key.ends_with("_bytes") ? "integer (bytes)" : "integer";
        } else if constexpr (std::is_same_v<T, Seconds>) {
          return "integer (seconds)";
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          return "list of strings";
        } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
          return "table of strings";
        } else {
          return "one of " + choices_text(*this);
        }
      },
      ref);
}

namespace {

std::string toml_string(std::string_view s) { return dquoted(s, std::string_view::npos); }

std::string toml_key(std::string_view k) {
  bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return bare ? std::string(k) : toml_string(k);
}

}  // namespace

std::string Option::default_toml() const {
  HubConfig h;
  ProviderConfig p;
  return value_toml(h, p);
}

std::string Option::value_toml(HubConfig& h, ProviderConfig& p) const {
  auto ref = field(h, p);
  return std::visit(
      [&](auto* f) -> std::string {
        using T = std::remove_pointer_t<decltype(f)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return format == Format::json ? *f : toml_string(*f);
        } else if constexpr (std::is_same_v<T, Secret>) {
          return toml_string(f->reveal());
        } else if constexpr (std::is_same_v<T, bool>) {
          return *f ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::uint16_t> || std::is_same_v<T, std::size_t>) {
          return std::to_string(*f);
        } else if constexpr (std::is_same_v<T, Seconds>) {
          return std::to_string(f->count());
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          std::string out = "[";
          for (auto const& s : *f) out += (out.size() > 1 ? ", " : "") + toml_string(s);
          return out + "]";
        } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
          if (f->empty()) return "{}";
          std::string out = "{ ";
          bool first = true;
          for (auto const& [k, v] : *f) {
            out += (first ? "" : ", ") + toml_key(k) + " = " + toml_string(v);
            first = false;
          }
          return out + " }";
        } else {
          return toml_string(to_string(*f));
        }
      },
      ref);
}

Option const* find_option(Scope scope, std::string_view key) {
  for (auto const& o : options())
    if (o.scope == scope && o.key == key) return &o;
  return nullptr;
}

std::vector<std::string> keys_in(std::string_view section) {
  std::vector<std::string> out;
  for (auto const& o : options())
    if (o.section() == section) out.push_back(o.name());
  if (section.empty())
    for (auto const& s : sections())
      if (!s.empty() && s.find('.') == std::string::npos) out.push_back(s);
  if (section == "auth") out.push_back("providers");
  return out;
}

std::string_view to_string(TokenAuth t) {
  switch (t) {
    case TokenAuth::client_secret_post: return "client_secret_post";
    case TokenAuth::client_secret_basic: return "client_secret_basic";
    case TokenAuth::custos_bearer_pair: return "custos_bearer_pair";
  }
  return "client_secret_post";
}

std::string assign(Option const& opt, Value const& v, HubConfig& hub, ProviderConfig& provider,
                   bool python) {
  auto ref = opt.field(hub, provider);
  return std::visit(
      [&](auto* f) -> std::string {
        using T = std::remove_pointer_t<decltype(f)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return assign_string(opt, v, *f, python);
        } else if constexpr (std::is_same_v<T, Secret>) {
          std::string s;
          if (v.kind == Value::Kind::string) s = v.string;
          else if (!(v.kind == Value::Kind::none && python)) return "expected a string";
          *f = Secret(std::move(s));
          return {};
        } else if constexpr (std::is_same_v<T, bool>) {
          auto b = as_bool(v);
          if (!b)
            return with_got(opt, python ? "expected True or False" : "expected true or false", v,
                            python);
          *f = *b;
          return {};
        } else if constexpr (std::is_same_v<T, std::uint16_t>) {
          auto i = v.kind == Value::Kind::real && !v.from_text ? std::nullopt : as_int(v);
          if (!i || *i < 0 || *i > 65535)
            return with_got(opt, "expected an integer from 0 to 65535", v, python);
          *f = static_cast<std::uint16_t>(*i);
          return {};
        } else if constexpr (std::is_same_v<T, std::size_t>) {
          auto i = as_int(v);
          if (!i || *i < 0) return with_got(opt, "expected a non-negative integer", v, python);
          *f = static_cast<std::size_t>(*i);
          return {};
        } else if constexpr (std::is_same_v<T, Seconds>) {
          auto i = as_int(v);
          if (!i || *i < 0)
            return with_got(opt, "expected a non-negative whole number of seconds", v, python);
          *f = Seconds(*i);
          return {};
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          return assign_list(opt, v, *f, python);
        } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
          return assign_map(opt, v, *f, python);
        } else {
          std::string s;
          auto err = assign_string(opt, v, s, python);
          if (!err.empty()) return err;
          for (auto t : {TokenAuth::client_secret_post, TokenAuth::client_secret_basic,
                         TokenAuth::custos_bearer_pair})
            if (to_string(t) == s) *f = t;
          return {};
        }
      },
      ref);
}

}  // namespace nbhub::config
