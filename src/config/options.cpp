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

#define HUB(expr) [](HubConfig& h, ProviderConfig&) -> FieldRef { return &h.expr; }
#define PROV(expr) [](HubConfig&, ProviderConfig& p) -> FieldRef { return &p.expr; }

std::vector<Option> build_table() {
  using F = Format;
  auto const P = Scope::provider;
  std::vector<Option> t = {
      // ---- top level -------------------------------------------------------------------
      {"ip", {}, F::plain, {}, "Address of the public listener; `\"\"` listens on all interfaces.",
       HUB(ip)},
      {"port", {}, F::plain, {}, "Port of the public listener; 0 picks a free port.", HUB(port)},
      {"base_url", {}, F::base_url, {},
       "URL prefix of the whole hub (`/jupyter/`); must start with `/`, a trailing `/` is added.",
       HUB(base_url)},
      {"public_url", {}, F::url, {},
       "The URL users see (`https://hub.example.org`) when a TLS-terminating load balancer sits in "
       "front; redirect URLs are built from it instead of request headers.",
       HUB(public_url)},
      {"hub_bind_url", {}, F::url, {},
       "Where the hub API for single-user servers and services listens.", HUB(hub_bind_url)},
      {"hub_connect_url", {}, F::url, {},
       "The hub API URL servers are told when they must reach it by another address "
       "(containers, pods); `\"\"` = `hub_bind_url`.",
       HUB(hub_connect_url)},
      {"db_url", {}, F::db_url, {},
       "Database: `sqlite:///PATH` (relative to the working directory), `sqlite://` (in memory) "
       "or `postgresql://user@host/db`.",
       HUB(db_url)},
      {"cookie_secret_file", {}, F::path, {},
       "File holding the key that signs and encrypts cookies (JupyterHub's "
       "`cookie_secret_file`).",
       HUB(cookie_secret_file)},
      {"data_dir", {}, F::path, {}, "Directory for state files.", HUB(data_dir)},
      {"trusted_proxies", {}, F::plain, {},
       "Peers (IP addresses or CIDR ranges) whose `X-Forwarded-Proto/Host/For` headers are "
       "believed.",
       HUB(trusted_proxies)},
      {"log_level", {}, F::log_level, {"trace", "debug", "info", "warn", "error", "critical", "off"},
       "Log level.", HUB(log_level)},
      {"admin_access", {}, F::plain, {},
       "Let admins open other users' servers (JupyterHub's `admin_access`).", HUB(admin_access)},
      {"ssl_cert", {}, F::path, {}, "TLS certificate (PEM) for the public listener.",
       HUB(ssl_cert)},
      {"ssl_key", {}, F::path, {}, "TLS private key (PEM) for the public listener.", HUB(ssl_key)},
      {"spawner", {}, F::choice, {"local", "docker", "kubernetes"},
       "How user servers are started.", HUB(spawner)},
      {"spawner_options", {}, F::plain, {},
       "Spawner settings imported from `jupyterhub_config.py` (`\"DockerSpawner.image\" = "
       "\"...\"`), kept for the spawner.",
       HUB(spawner_options)},
      {"shutdown_on_logout", {}, F::plain, {},
       "Stop the user's servers when they log out.", HUB(shutdown_on_logout)},
      {"services", {}, F::json, {},
       "JupyterHub `services`, as an array of tables (kept for the services feature).",
       HUB(services_json)},
      {"load_roles", {}, F::json, {},
       "JupyterHub `load_roles`, as an array of tables (kept for the roles feature).",
       HUB(load_roles_json)},
      // ---- [http]: the public listener -------------------------------------------------
      {"http.header_limit_bytes", {}, F::plain, {}, "Largest request head accepted.",
       HUB(http.header_limit_bytes)},
      {"http.body_limit_bytes", {}, F::plain, {},
       "Largest request body the hub itself reads (proxied bodies stream).",
       HUB(http.body_limit_bytes)},
      {"http.request_timeout_seconds", {}, F::plain, {},
       "Deadline for reading a whole request head and body.", HUB(http.request_timeout)},
      {"http.idle_timeout_seconds", {}, F::plain, {}, "Keep-alive idle timeout.",
       HUB(http.idle_timeout)},
      {"http.max_connections", {}, F::plain, {}, "Open connections at most.",
       HUB(http.max_connections)},
      // ---- [http_client]: outbound calls (IdPs, JWKS, Docker, Kubernetes) --------------
      {"http_client.connect_timeout_seconds", {}, F::plain, {}, "Connect timeout.",
       HUB(http_client.connect_timeout)},
      {"http_client.request_timeout_seconds", {}, F::plain, {}, "Whole-request timeout.",
       HUB(http_client.request_timeout)},
      {"http_client.ca_file", {}, F::path, {},
       "Extra CA bundle (PEM); `\"\"` = the system bundle only.", HUB(http_client.ca_file)},
      {"http_client.tls_verify", {}, F::plain, {},
       "Verify TLS certificates of outbound calls (a warning is logged when off).",
       HUB(http_client.tls_verify)},
      {"http_client.max_idle_per_host", {}, F::plain, {}, "Pooled idle connections per host.",
       HUB(http_client.max_idle_per_host)},
      {"http_client.idle_timeout_seconds", {}, F::plain, {}, "Pooled connection idle timeout.",
       HUB(http_client.idle_timeout)},
      {"http_client.max_response_bytes", {}, F::plain, {}, "Largest response body read.",
       HUB(http_client.max_response_bytes)},
      // ---- [auth] ------------------------------------------------------------------------
      {"auth.allowed_users", {}, F::plain, {}, "Users allowed to log in (deny by default).",
       HUB(auth.allowed_users)},
      {"auth.admin_users", {}, F::plain, {}, "Admins; also allowed.", HUB(auth.admin_users)},
      {"auth.blocked_users", {}, F::plain, {}, "Users never allowed; checked first.",
       HUB(auth.blocked_users)},
      {"auth.allowed_groups", {}, F::plain, {},
       "Members of these groups are allowed; needs `manage_groups = true`.",
       HUB(auth.allowed_groups)},
      {"auth.admin_groups", {}, F::plain, {},
       "Members of these groups are admins (others lose admin on login); needs "
       "`manage_groups = true`.",
       HUB(auth.admin_groups)},
      {"auth.allow_all", {}, F::plain, {}, "Allow every user the provider authenticates.",
       HUB(auth.allow_all)},
      {"auth.allow_existing_users", {}, F::plain, {},
       "Users already in the database stay allowed.", HUB(auth.allow_existing_users)},
      {"auth.manage_groups", {}, F::plain, {},
       "Hub groups follow the provider's groups claim.", HUB(auth.manage_groups)},
      {"auth.auto_login", {}, F::plain, {},
       "Skip the login page when there is one provider.", HUB(auth.auto_login)},
      {"auth.enable_auth_state", {}, F::plain, {},
       "Keep tokens as encrypted `auth_state` (needs `NBHUB_CRYPT_KEY`).",
       HUB(auth.enable_auth_state)},
      {"auth.username_map", {}, F::plain, {}, "Rename users after login: `{ from = \"to\" }`.",
       HUB(auth.username_map)},
      {"auth.custom_403_message", {}, F::plain, {}, "Text shown to users who are not allowed.",
       HUB(auth.custom_403_message)},
      {"auth.cookie_max_age_seconds", {}, F::plain, {}, "Lifetime of the login cookie.",
       HUB(auth.cookie_max_age)},
      {"auth.login_state_ttl_seconds", {}, F::plain, {},
       "How long a started login may take at the provider.", HUB(auth.login_state_ttl)},
      // ---- [[auth.providers]]: one table per identity provider --------------------------
      {"name", P, F::name, {},
       "Id in URLs (`/hub/oauth_login?provider=NAME`) and environment variables; default: "
       "`kind`.",
       PROV(name)},
      {"kind", P, F::choice, {"generic", "oidc", "cognito", "custos", "cilogon"},
       "Preset that fills endpoints from a few settings.", PROV(kind)},
      {"login_service", P, F::plain, {}, "Button text: \"Sign in with LOGIN_SERVICE\".",
       PROV(login_service)},
      {"client_id", P, F::plain, {}, "OAuth client id registered at the provider.",
       PROV(client_id)},
      {"client_secret", P, F::plain, {},
       "OAuth client secret; prefer `client_secret_file` or the environment.",
       PROV(client_secret), true},
      {"client_secret_file", P, F::path, {}, "File whose content (trimmed) is the client secret.",
       PROV(client_secret_file)},
      {"oauth_callback_url", P, F::url, {},
       "`redirect_uri`; default: `public_url` + `base_url` + `hub/oauth_callback`.",
       PROV(oauth_callback_url)},
      {"authorize_url", P, F::url, {}, "Authorization endpoint.", PROV(authorize_url)},
      {"token_url", P, F::url, {}, "Token endpoint.", PROV(token_url)},
      {"userdata_url", P, F::url, {}, "Userinfo endpoint.", PROV(userdata_url)},
      {"issuer", P, F::url, {}, "OIDC issuer: discovery and the `iss` check.", PROV(issuer)},
      {"jwks_url", P, F::url, {}, "JWKS endpoint; default: from discovery.", PROV(jwks_url)},
      {"end_session_url", P, F::url, {}, "RP-initiated logout endpoint.", PROV(end_session_url)},
      {"logout_redirect_url", P, F::url, {},
       "Where `/hub/logout` sends the browser afterwards (OAuthenticator's option).",
       PROV(logout_redirect_url)},
      {"idp_logout", P, F::plain, {},
       "Also end the provider session on logout when an endpoint is known.", PROV(idp_logout)},
      {"scope", P, F::plain, {}, "Scopes requested.", PROV(scope)},
      {"username_claim", P, F::plain, {}, "Claim (dotted path) giving the hub username.",
       PROV(username_claim)},
      {"groups_claim", P, F::plain, {},
       "Claim (dotted path) giving the user's groups; used with `auth.manage_groups`.",
       PROV(groups_claim)},
      {"token_auth", P, F::choice,
       {"client_secret_post", "client_secret_basic", "custos_bearer_pair"},
       "How the client authenticates at the token endpoint.", PROV(token_auth)},
      {"pkce", P, F::plain, {}, "Send a PKCE S256 challenge.", PROV(pkce)},
      {"userdata_from_id_token", P, F::plain, {},
       "Take user claims from the ID token instead of calling userinfo.",
       PROV(userdata_from_id_token)},
      {"extra_authorize_params", P, F::plain, {}, "Extra query parameters on the authorize redirect.",
       PROV(extra_authorize_params)},
      {"token_params", P, F::plain, {}, "Extra form parameters on the code exchange.",
       PROV(token_params)},
      {"userdata_params", P, F::plain, {}, "Extra query parameters on the userinfo call.",
       PROV(userdata_params)},
      {"id_token_algs", P, F::plain, {}, "Signature algorithms accepted for ID tokens.",
       PROV(id_token_algs)},
      {"leeway_seconds", P, F::plain, {}, "Clock skew allowed on `exp`, `iat`, `nbf`.",
       PROV(leeway)},
      {"tls_verify", P, F::plain, {}, "Verify the provider's TLS certificates.", PROV(tls_verify)},
      {"cognito_domain", P, F::plain, {},
       "Cognito: `PREFIX.auth.REGION.amazoncognito.com` or a custom domain.",
       PROV(cognito_domain)},
      {"cognito_region", P, F::plain, {}, "Cognito: AWS region of the user pool.",
       PROV(cognito_region)},
      {"cognito_user_pool_id", P, F::plain, {},
       "Cognito: user pool id (issuer and JWKS are derived from it).",
       PROV(cognito_user_pool_id)},
      {"custos_host", P, F::plain, {}, "Custos: REST gateway host.", PROV(custos_host)},
      {"custos_iam_host", P, F::plain, {}, "Custos: Keycloak host behind Custos.",
       PROV(custos_iam_host)},
      {"cilogon_host", P, F::plain, {}, "CILogon: host.", PROV(cilogon_host)},
  };
  return t;
}

#undef HUB
#undef PROV

constexpr std::string_view kProvidersSection = "auth.providers";

// ---- conversions ----------------------------------------------------------------------

struct Fail {
  std::string expected;
};

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
  static const std::vector<std::string> s = {"", "http", "http_client", "auth",
                                             std::string(kProvidersSection)};
  return s;
}

std::span<const Option> options() {
  static const std::vector<Option> table = build_table();
  return table;
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
            case Format::url: return "URL";
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
