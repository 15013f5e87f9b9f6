#include "auth/cilogon.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <fnmatch.h>

#include <algorithm>
#include <cctype>

#include "auth/claims.hpp"

namespace nbhub::auth {

namespace json = boost::json;
using config::CilogonIdp;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && lower(s.substr(s.size() - suffix.size())) == lower(suffix);
}

// The string a claim holds (numbers as their JSON text, as for username_claim), or "".
std::string claim_text(json::object const& claims, std::string_view path) {
  auto const* v = find_claim(claims, path);
  if (!v) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_number()) return json::serialize(*v);
  return {};
}

}  // namespace

Result<std::vector<CilogonIdp>> parse_cilogon_idps(std::string_view json_text) {
  boost::system::error_code ec;
  auto v = json::parse(json_text, ec);
  if (ec || !v.is_array()) return Error{Errc::bad_request, "idps: expected an array of tables"};
  std::vector<CilogonIdp> out;
  auto const& arr = v.as_array();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    auto where = fmt::format("idps[{}]", i);
    auto bad = [&](std::string what) { return Error{Errc::bad_request, where + ": " + what}; };
    if (!arr[i].is_object()) return bad("expected a table");
    auto const& o = arr[i].as_object();
    CilogonIdp idp;
    auto str = [&](json::object const& t, std::string_view key, std::string& into,
                   std::string_view in) -> std::optional<Error> {
      auto const* x = t.if_contains(key);
      if (!x) return std::nullopt;
      if (!x->is_string()) return bad(fmt::format("{}{}: expected a string", in, key));
      into = std::string(x->as_string());
      return std::nullopt;
    };
    auto flag = [&](std::string_view key, bool& into) -> std::optional<Error> {
      auto const* x = o.if_contains(key);
      if (!x) return std::nullopt;
      if (!x->is_bool()) return bad(fmt::format("{}: expected true or false", key));
      into = x->as_bool();
      return std::nullopt;
    };
    for (auto const& kv : o) {
      static constexpr std::string_view kKeys[] = {"entity_id", "username_derivation", "allow_all",
                                                   "allowed_domains", "allowed_domains_claim", "default"};
      if (std::find(std::begin(kKeys), std::end(kKeys), kv.key()) == std::end(kKeys))
        return bad(fmt::format("unknown key {}; expected entity_id, username_derivation, allow_all, "
                               "allowed_domains, allowed_domains_claim or default",
                               std::string_view(kv.key())));
    }
    if (auto e = str(o, "entity_id", idp.entity_id, "")) return *e;
    auto scheme = idp.entity_id.substr(0, idp.entity_id.find(':'));
    if (idp.entity_id.find(':') == std::string::npos || (scheme != "https" && scheme != "http" && scheme != "urn"))
      return bad(fmt::format("entity_id {}: expected a CILogon EntityID (https://..., http://... or "
                             "urn:...; see https://cilogon.org/idplist)",
                             idp.entity_id.empty() ? "(missing)" : "\"" + idp.entity_id + "\""));
    for (auto const& seen : out)
      if (seen.entity_id == idp.entity_id) return bad(fmt::format("entity_id \"{}\" is listed twice", idp.entity_id));
    auto const* d = o.if_contains("username_derivation");
    if (!d || !d->is_object()) return bad("username_derivation: required, a table with username_claim");
    auto const& dt = d->as_object();
    for (auto const& kv : dt)
      if (kv.key() != "username_claim" && kv.key() != "action" && kv.key() != "domain" && kv.key() != "prefix")
        return bad(fmt::format("username_derivation: unknown key {}; expected username_claim, action, "
                               "domain or prefix",
                               std::string_view(kv.key())));
    std::string action;
    for (auto [key, into] : {std::pair{"username_claim", &idp.username_claim}, std::pair{"action", &action},
                             std::pair{"domain", &idp.domain}, std::pair{"prefix", &idp.prefix}})
      if (auto e = str(dt, key, *into, "username_derivation.")) return *e;
    if (idp.username_claim.empty()) return bad("username_derivation.username_claim: required");
    if (action == "strip_idp_domain") {
      idp.action = CilogonIdp::Action::strip_idp_domain;
      if (idp.domain.empty()) return bad("username_derivation.domain: required with action = \"strip_idp_domain\"");
    } else if (action == "prefix") {
      idp.action = CilogonIdp::Action::prefix;
      if (idp.prefix.empty()) return bad("username_derivation.prefix: required with action = \"prefix\"");
    } else if (!action.empty()) {
      return bad(fmt::format("username_derivation.action: expected \"strip_idp_domain\" or \"prefix\", got \"{}\"", action));
    }
    if (auto e = flag("allow_all", idp.allow_all)) return *e;
    if (auto e = flag("default", idp.is_default)) return *e;
    if (auto e = str(o, "allowed_domains_claim", idp.allowed_domains_claim, "")) return *e;
    if (auto const* ad = o.if_contains("allowed_domains")) {
      if (!ad->is_array()) return bad("allowed_domains: expected an array of strings");
      for (auto const& x : ad->as_array()) {
        if (!x.is_string()) return bad("allowed_domains: expected an array of strings");
        idp.allowed_domains.push_back(lower(x.as_string()));
      }
    }
    out.push_back(std::move(idp));
  }
  return out;
}

std::string selected_idp_param(std::vector<CilogonIdp> const& idps) {
  if (idps.empty()) return {};
  auto def = std::find_if(idps.begin(), idps.end(), [](auto const& i) { return i.is_default; });
  if (def == idps.end()) def = idps.begin();
  std::string out = def->entity_id;
  for (auto it = idps.begin(); it != idps.end(); ++it)
    if (it != def) out += "," + it->entity_id;
  return out;
}

Result<CilogonUser> cilogon_user(std::vector<CilogonIdp> const& idps, json::object const& claims) {
  auto const* idp_claim = claims.if_contains("idp");
  if (!idp_claim || !idp_claim->is_string() || idp_claim->as_string().empty())
    return Error{Errc::forbidden, "CILogon did not say which identity provider signed you in (no idp claim)."};
  std::string_view entity = idp_claim->as_string();
  auto it = std::find_if(idps.begin(), idps.end(), [&](auto const& i) { return i.entity_id == entity; });
  if (it == idps.end())
    return Error{Errc::forbidden, fmt::format("Signing in through the identity provider {} is not allowed on this "
                                              "hub. Choose one of the hub's identity providers on CILogon's page.",
                                              entity.substr(0, 200))};
  auto const& idp = *it;
  auto raw = claim_text(claims, idp.username_claim);
  if (raw.empty())
    return Error{Errc::forbidden, fmt::format("Your identity provider {} did not send the claim \"{}\" this hub "
                                              "uses as the username. Tell your hub administrator.",
                                              idp.entity_id, idp.username_claim)};
  CilogonUser u;
  u.username = raw;
  u.username_claim = idp.username_claim;
  if (idp.action == CilogonIdp::Action::strip_idp_domain) {
    auto suffix = "@" + idp.domain;
    if (iends_with(u.username, suffix)) u.username.resize(u.username.size() - suffix.size());
  } else if (idp.action == CilogonIdp::Action::prefix) {
    u.username = idp.prefix + ":" + u.username;
  }
  if (idp.allow_all) {
    u.allowed_by = "allow_all of idp " + idp.entity_id;
  } else if (!idp.allowed_domains.empty()) {
    // The domain: from allowed_domains_claim, else from the username claim (before the
    // action); an address gives what follows its last '@'.
    auto source = idp.allowed_domains_claim.empty() ? raw : claim_text(claims, idp.allowed_domains_claim);
    auto domain = lower(source.substr(source.rfind('@') == std::string::npos ? 0 : source.rfind('@') + 1));
    if (!source.empty())
      for (auto const& pattern : idp.allowed_domains)
        if (::fnmatch(pattern.c_str(), domain.c_str(), 0) == 0) {
          u.allowed_by = fmt::format("allowed_domains {} of idp {}", pattern, idp.entity_id);
          break;
        }
  }
  return u;
}

}  // namespace nbhub::auth
