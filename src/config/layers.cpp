#include "config/layers.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "config/text.hpp"

namespace nbhub::config {

namespace {

constexpr std::string_view kEnvFile = "environment";
constexpr std::string_view kFlagFile = "command line";
constexpr std::string_view kProviderPrefix = "NBHUB_AUTH_PROVIDER_";

// NBHUB_* variables read elsewhere, never reported as misspelt options.
constexpr std::string_view kOtherNbhubVars[] = {"NBHUB_CRYPT_KEY"};

Origin env_origin(std::string const& name) {
  return Origin{std::string(kEnvFile), 0, name, Layer::env};
}

Origin flag_origin(std::string_view flag) {
  return Origin{std::string(kFlagFile), 0, std::string(flag), Layer::flag};
}

// The provider whose NBHUB_AUTH_PROVIDER_<NAME>_ prefix `rest` starts with, and the remaining
// key; the longest name wins, so providers "a" and "a_b" are told apart.
std::pair<int, std::string> match_provider(ConfigBuilder const& b, std::string_view rest) {
  int best = -1;
  std::size_t best_len = 0;
  for (int i = 0; i < b.provider_count(); ++i) {
    auto prefix = to_upper_snake(b.provider(i).name) + "_";
    if (!b.provider(i).name.empty() && rest.starts_with(prefix) && prefix.size() > best_len) {
      best = i;
      best_len = prefix.size();
    }
  }
  if (best < 0) return {-1, {}};
  return {best, std::string(rest.substr(best_len))};
}

void apply_provider_env(std::string const& name, std::string const& value, ConfigBuilder& b) {
  auto rest = std::string_view(name).substr(kProviderPrefix.size());
  auto [index, key] = match_provider(b, rest);
  if (index < 0) {
    std::vector<std::string> names;
    for (int i = 0; i < b.provider_count(); ++i) names.push_back(b.provider(i).name);
    b.warn(env_origin(name),
           names.empty() ? "no [[auth.providers]] is configured, ignored"
                         : fmt::format("names no configured provider (configured: {}), ignored",
                                       fmt::join(names, ", ")));
    return;
  }
  for (auto const& o : options()) {
    if (o.scope == Scope::provider && to_upper_snake(o.name()) == key) {
      b.set_provider(index, o, Value::text(value), env_origin(name));
      return;
    }
  }
  std::vector<std::string> keys;
  for (auto const& o : options())
    if (o.scope == Scope::provider) keys.push_back(to_upper_snake(o.name()));
  auto close = closest(key, keys);
  b.warn(env_origin(name),
         "unknown provider option, ignored" +
             (close.empty() ? std::string{}
                            : fmt::format("; did you mean `{}{}_{}`?", kProviderPrefix,
                                          to_upper_snake(b.provider(index).name), close)));
}

}  // namespace

void name_providers(ConfigBuilder& b) {
  for (int i = 0; i < b.provider_count(); ++i) {
    // Kind names are valid provider names; duplicates are reported by validate().
    if (b.provider(i).name.empty()) b.hub().auth.providers[i].name = b.provider(i).kind;
  }
}

void apply_env(Env const& env, ConfigBuilder& b) {
  std::vector<std::string> hub_suffixes;
  for (auto const& o : options())
    if (o.scope == Scope::hub) hub_suffixes.push_back(o.env_name().substr(6));
  for (auto const& [name, value] : env) {
    if (!name.starts_with("NBHUB_")) continue;
    if (name.starts_with(kProviderPrefix)) {
      apply_provider_env(name, value, b);
      continue;
    }
    Option const* opt = nullptr;
    for (auto const& o : options())
      if (o.scope == Scope::hub && o.env_name() == name) { opt = &o; break; }
    if (opt) {
      b.set(*opt, Value::text(value), env_origin(name));
      continue;
    }
    if (std::find(std::begin(kOtherNbhubVars), std::end(kOtherNbhubVars), name) !=
        std::end(kOtherNbhubVars))
      continue;
    // Only a likely misspelling is worth a warning: other NBHUB_* variables may belong to
    // other parts (or to a test harness).
    auto close = closest(std::string_view(name).substr(6), hub_suffixes);
    if (!close.empty())
      b.warn(env_origin(name), fmt::format("unknown variable, ignored; did you mean `NBHUB_{}`?",
                                           close));
  }
}

void apply_flags(CliInvocation const& cli, ConfigBuilder& b) {
  auto set = [&](std::optional<std::string> const& v, std::string_view flag, std::string_view key) {
    if (v) b.set(key, Value::text(*v), flag_origin(flag));
  };
  if (cli.bind_url) {
    if (auto u = parse_bind_url(*cli.bind_url)) {
      b.set("ip", Value::of(u->ip), flag_origin("--url"));
      b.set("port", Value::of(std::int64_t{u->port}), flag_origin("--url"));
      b.set("base_url", Value::of(u->path), flag_origin("--url"));
    } else {
      b.error(flag_origin("--url"),
              "expected an http:// or https:// URL such as http://:8000/, got " +
                  dquoted(*cli.bind_url));
    }
  }
  set(cli.ip, "--ip", "ip");
  set(cli.port, "--port", "port");
  set(cli.base_url, "--base-url", "base_url");
  set(cli.db_url, "--db", "db_url");
  set(cli.ssl_cert, "--ssl-cert", "ssl_cert");
  set(cli.ssl_key, "--ssl-key", "ssl_key");
  if (cli.log_level) {
    // JupyterHub also takes Python's numeric levels.
    static const std::map<std::string, std::string> numeric = {
        {"0", "trace"}, {"10", "debug"}, {"20", "info"},
        {"30", "warn"}, {"40", "error"}, {"50", "critical"}};
    auto it = numeric.find(std::string(trim(*cli.log_level)));
    b.set("log_level", Value::text(it != numeric.end() ? it->second : *cli.log_level),
          flag_origin("--log-level"));
  }
  if (cli.debug) b.set("log_level", Value::text("debug"), flag_origin("--debug"));
}

std::span<const CompatEnvVar> compat_env_vars() {
  static const CompatEnvVar vars[] = {
      {"OAUTH_CLIENT_ID", "client_id", "", ""},
      {"OAUTH_CLIENT_SECRET", "client_secret", "", ""},
      {"OAUTH_CALLBACK_URL", "oauth_callback_url", "", ""},
      {"OAUTH2_AUTHORIZE_URL", "authorize_url", "", ""},
      {"OAUTH2_TOKEN_URL", "token_url", "", ""},
      {"OAUTH2_USERDATA_URL", "userdata_url", "", ""},
      {"OAUTH2_USERNAME_KEY", "username_claim", "", ""},
      {"OAUTH2_GROUPS_KEY", "groups_claim", "", ""},
      {"OAUTH2_BASIC_AUTH", "token_auth", "generic oidc cognito cilogon",
       "`true` or `1` selects `client_secret_basic`"},
      {"OAUTH_LOGOUT_REDIRECT_URL", "logout_redirect_url", "", ""},
      {"OAUTH_TLS_VERIFY", "tls_verify", "", "`0` turns verification off"},
      {"LOGIN_SERVICE", "login_service", "generic oidc cognito cilogon", ""},
      {"CUSTOS_HOST", "custos_host", "custos", ""},
      {"CILOGON_HOST", "cilogon_host", "cilogon", ""},
  };
  return vars;
}

void apply_compat_env(Env const& env, ConfigBuilder& b) {
  std::vector<std::string> present;
  for (auto const& v : compat_env_vars())
    if (env.count(std::string(v.name))) present.emplace_back(v.name);
  if (present.empty() || b.provider_count() == 0) return;
  if (b.provider_count() > 1) {
    b.warn(Origin{std::string(kEnvFile), 0, present.front()},
           fmt::format("ignored: {} only fill in a single provider, and {} are configured",
                       fmt::join(present, ", "), b.provider_count()));
    return;
  }
  auto const& p = b.provider(0);
  for (auto const& v : compat_env_vars()) {
    auto it = env.find(std::string(v.name));
    if (it == env.end()) continue;
    if (!v.kinds.empty()) {
      auto kinds = " " + std::string(v.kinds) + " ";
      if (kinds.find(" " + p.kind + " ") == std::string::npos) continue;
    }
    if (b.origin_of(0, v.option)) continue;  // set by a layer: the config wins
    if (v.option == "client_secret" && b.origin_of(0, "client_secret_file")) continue;
    auto value = it->second;
    if (v.name == "OAUTH2_BASIC_AUTH") {
      auto l = to_lower(trim(value));
      value = (l == "true" || l == "1") ? "client_secret_basic" : "client_secret_post";
    } else if (v.name == "OAUTH_TLS_VERIFY") {
      value = trim(value) == "0" ? "false" : "true";
    }
    b.set_provider(0, v.option, Value::text(value), env_origin(std::string(v.name)));
  }
}

void read_secret_files(ConfigBuilder& b) {
  for (int i = 0; i < b.provider_count(); ++i) {
    auto const& path = b.provider(i).client_secret_file;
    if (path.empty()) continue;
    auto const* file_at = b.origin_of(i, "client_secret_file");
    auto const* secret_at = b.origin_of(i, "client_secret");
    Origin where = file_at ? *file_at : b.provider_origin(i);
    if (secret_at && file_at && secret_at->layer > file_at->layer) continue;  // higher layer wins
    if (secret_at && file_at && secret_at->layer == file_at->layer) {
      b.error(where, fmt::format("set either client_secret or client_secret_file, not both "
                                 "(client_secret is set at {}{})",
                                 secret_at->file,
                                 secret_at->line ? fmt::format(":{}", secret_at->line) : ""));
      continue;
    }
    std::ifstream f(path, std::ios::binary);
    if (!f) {
      b.error(where, fmt::format("cannot read {}: {}", dquoted(path), std::strerror(errno)));
      continue;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    auto secret = std::string(trim(ss.str()));
    if (secret.empty()) {
      b.error(where, fmt::format("{} is empty", dquoted(path)));
      continue;
    }
    b.hub().auth.providers[i].client_secret = Secret(std::move(secret));
  }
}

}  // namespace nbhub::config
