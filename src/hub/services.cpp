#include "hub/services.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "core/crypto.hpp"
#include "core/random.hpp"
#include "proxy/route_table.hpp"
#include "store/store.hpp"

namespace nbhub::hub {

namespace json = boost::json;

namespace {

std::string get_string(json::object const& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : std::string{};
}

bool get_bool(json::object const& o, std::string_view key, bool dflt) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_bool() ? it->value().as_bool() : dflt;
}

// Keys JupyterHub's Service accepts; the ones nbhub does not act on yet are still accepted so
// a jupyterhub_config.py loads.
constexpr std::string_view kKnownKeys[] = {
    "name", "url", "admin", "api_token", "display", "info", "oauth_client_id", "oauth_redirect_uri",
    "oauth_no_confirm", "oauth_client_allowed_scopes", "oauth_roles", "command", "environment", "user", "cwd",
    "kind", "oauth_allowed_scopes", "roles"};

// JupyterHub's Command trait: a list of strings, or one string taken as the whole command.
void read_managed(json::object const& o, Service& s, std::vector<std::string>& problems) {
  auto bad = [&](std::string_view key, std::string_view want) {
    problems.push_back(fmt::format("services: service \"{}\": {} must be {}", s.name, key, want));
  };
  if (auto it = o.find("command"); it != o.end() && !it->value().is_null()) {
    if (it->value().is_string()) {
      s.command.emplace_back(it->value().as_string());
    } else if (it->value().is_array()) {
      for (auto const& x : it->value().as_array()) {
        if (!x.is_string()) { bad("command", "a list of strings"); break; }
        s.command.emplace_back(x.as_string());
      }
    } else {
      bad("command", "a list of strings");
    }
    if (!s.command.empty() && s.command.front().empty()) bad("command", "a list whose first item names a program");
  }
  if (auto it = o.find("environment"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_object()) bad("environment", "a table of strings");
    else
      for (auto const& [k, v] : it->value().as_object()) {
        if (v.is_string()) s.environment[std::string(k)] = std::string(v.as_string());
        else if (v.is_int64() || v.is_uint64()) s.environment[std::string(k)] = json::serialize(v);
        else bad(fmt::format("environment.{}", std::string_view(k)), "a string");
      }
  }
  s.cwd = get_string(o, "cwd");
  s.user = get_string(o, "user");
  if (s.command.empty() && (!s.environment.empty() || !s.cwd.empty() || !s.user.empty()))
    problems.push_back(fmt::format("services: service \"{}\": environment, cwd and user apply only to a "
                                   "service with a command (one nbhub starts)", s.name));
}

}  // namespace

Result<ServiceRegistry> ServiceRegistry::load(std::string_view text, std::string const& base_url) {
  ServiceRegistry out;
  if (text.empty()) return out;
  boost::system::error_code ec;
  auto doc = json::parse(text, ec);
  if (ec || !doc.is_array()) return Error{Errc::config, "services must be a list of service tables"};
  std::vector<std::string> problems;
  for (auto const& v : doc.as_array()) {
    if (!v.is_object()) { problems.push_back("services: every entry must be a table"); continue; }
    auto const& o = v.as_object();
    Service s;
    s.name = get_string(o, "name");
    if (s.name.empty() || s.name.find('/') != std::string::npos) {
      problems.push_back("services: every service needs a name without '/'");
      continue;
    }
    for (auto const& [k, _] : o) {
      bool known = false;
      for (auto key : kKnownKeys) known = known || k == key;
      if (!known) problems.push_back(fmt::format("services: service \"{}\": unknown key \"{}\"", s.name, std::string_view(k)));
    }
    if (out.find(s.name)) problems.push_back(fmt::format("services: two services are named \"{}\"", s.name));
    s.url = get_string(o, "url");
    while (!s.url.empty() && s.url.back() == '/') s.url.pop_back();
    s.prefix = base_url + "services/" + s.name + "/";
    s.admin = get_bool(o, "admin", false);
    s.display = get_bool(o, "display", true);
    if (auto it = o.find("info"); it != o.end() && it->value().is_object()) s.info = it->value().as_object();
    s.oauth_client_id = get_string(o, "oauth_client_id");
    if (s.oauth_client_id.empty()) s.oauth_client_id = "service-" + s.name;
    s.oauth_redirect_uri = get_string(o, "oauth_redirect_uri");
    if (s.oauth_redirect_uri.empty() && !s.url.empty()) s.oauth_redirect_uri = s.prefix + "oauth_callback";
    s.oauth_no_confirm = get_bool(o, "oauth_no_confirm", false);
    for (auto key : {"oauth_client_allowed_scopes", "oauth_allowed_scopes"})
      if (auto it = o.find(key); it != o.end() && it->value().is_array())
        for (auto const& x : it->value().as_array())
          if (x.is_string()) s.oauth_client_allowed_scopes.emplace_back(x.as_string());
    read_managed(o, s, problems);
    auto token = get_string(o, "api_token");
    if (!token.empty()) {
      if (s.managed()) s.api_token = Secret(token);
      if (token.size() < 8)
        problems.push_back(fmt::format("services: service \"{}\": api_token must be at least 8 characters", s.name));
      s.token_sha256 = crypto::sha256(token);
      for (auto const& other : out.services_)
        if (other.token_sha256 == s.token_sha256)
          problems.push_back(fmt::format("services: services \"{}\" and \"{}\" have the same api_token", other.name, s.name));
    }
    out.services_.push_back(std::move(s));
  }
  if (!problems.empty()) {
    std::string msg;
    for (auto const& p : problems) msg += (msg.empty() ? "" : "\n") + p;
    return Error{Errc::config, msg};
  }
  return out;
}

Result<Service> ServiceRegistry::runtime_service(json::object spec, std::string const& base_url) {
  std::string token_hex;
  if (auto it = spec.find("api_token_sha256"); it != spec.end()) {
    if (it->value().is_string()) token_hex = std::string(it->value().as_string());
    spec.erase(it);
  }
  if (auto it = spec.find("command"); it != spec.end() && !it->value().is_null()) {
    bool empty = (it->value().is_array() && it->value().as_array().empty()) ||
                 (it->value().is_string() && it->value().as_string().empty());
    if (!empty)
      return Error{Errc::bad_request, fmt::format("Can not create managed service {} at runtime", get_string(spec, "name"))};
  }
  auto one = load(json::serialize(json::array{spec}), base_url);
  if (!one) return Error{Errc::bad_request, one.error().message};
  if (one->services_.size() != 1) return Error{Errc::bad_request, "a runtime service needs a name"};
  Service s = std::move(one->services_.front());
  s.from_config = false;
  if (!token_hex.empty()) {
    auto raw = crypto::hex_decode(token_hex);
    if (!raw || raw->size() != 32) return Error{Errc::bad_request, fmt::format("service \"{}\": a stored token hash is not hex SHA-256", s.name)};
    s.token_sha256 = std::move(*raw);
  }
  return s;
}

Result<ServiceRegistry> ServiceRegistry::with(std::vector<Service> const& extra) const {
  ServiceRegistry out = *this;
  for (auto const& s : extra) {
    for (auto const& o : out.services_) {
      if (o.name == s.name) return Error{Errc::conflict, fmt::format("Service {} already exists", s.name)};
      if (!s.url.empty() && !o.url.empty() && o.oauth_client_id == s.oauth_client_id)
        return Error{Errc::conflict, fmt::format("service \"{}\": OAuth client id \"{}\" is taken by service \"{}\"", s.name, s.oauth_client_id, o.name)};
      if (!s.token_sha256.empty() && crypto::equal_ct(o.token_sha256, s.token_sha256))
        return Error{Errc::conflict, fmt::format("service \"{}\": its api_token is another service's", s.name)};
    }
    out.services_.push_back(s);
  }
  return out;
}

ServiceRegistry ServiceRegistry::without(std::string_view name) const {
  ServiceRegistry out;
  for (auto const& s : services_)
    if (s.from_config || s.name != name) out.services_.push_back(s);
  return out;
}

std::vector<Service> ServiceRegistry::runtime() const {
  std::vector<Service> out;
  for (auto const& s : services_)
    if (!s.from_config) out.push_back(s);
  return out;
}

Result<void> ServiceRegistry::generate_missing_tokens(Random& random, ServiceRegistry const* previous) {
  for (auto& s : services_) {
    if (!s.managed() || !s.api_token.empty()) continue;
    Service const* old = previous ? previous->find(s.name) : nullptr;
    if (old && old->token_generated && !old->api_token.empty()) {
      s.api_token = old->api_token;
    } else {
      auto t = random.bytes(16);
      if (!t) return Error{Errc::unavailable, fmt::format("services: no randomness for service \"{}\"'s token", s.name)};
      s.api_token = Secret(crypto::hex_encode(*t));
    }
    s.token_generated = true;
    s.token_sha256 = crypto::sha256(s.api_token.reveal());
  }
  return {};
}

Service const* ServiceRegistry::by_token(std::string_view raw) const {
  if (services_.empty() || raw.size() < 8) return nullptr;
  auto h = crypto::sha256(raw);
  Service const* found = nullptr;
  for (auto const& s : services_) {
    // No early exit: the time does not depend on which service matched.
    bool match = !s.token_sha256.empty() && crypto::equal_ct(h, s.token_sha256);
    if (match) found = &s;
  }
  return found;
}

Service const* ServiceRegistry::find(std::string_view name) const {
  for (auto const& s : services_)
    if (s.name == name) return &s;
  return nullptr;
}

Service const* ServiceRegistry::by_oauth_client(std::string_view client_id) const {
  for (auto const& s : services_)
    if (!s.url.empty() && s.oauth_client_id == client_id) return &s;
  return nullptr;
}

Result<void> ServiceRegistry::register_oauth_clients(store::Store& store) const {
  for (auto const& s : services_) {
    if (s.url.empty() || s.token_sha256.empty()) continue;
    store::OAuthClientRow c{.client_id = s.oauth_client_id,
                            .description = "Service " + s.name,
                            .redirect_uri = s.oauth_redirect_uri,
                            .secret_hash = crypto::hex_encode(s.token_sha256)};
    c.allowed_scopes.push_back("access:services!service=" + s.name);
    for (auto const& x : s.oauth_client_allowed_scopes) c.allowed_scopes.push_back(x);
    if (auto r = store.upsert_oauth_client(c); !r) return r.error();
  }
  return {};
}

Result<void> ServiceRegistry::add_routes(proxy::RouteTable& routes) const {
  for (auto const& s : services_) {
    if (s.url.empty()) continue;
    auto r = routes.add(proxy::route_key_for_url_path(s.prefix), s.url,
                        boost::json::object{{"service", s.name}, {"jupyterhub", true}});
    if (!r) return Error{Errc::config, "services: service \"" + s.name + "\": " + r.error().message};
  }
  return {};
}

}  // namespace nbhub::hub
