// CILogon's per-IdP rules (auth/cilogon.hpp): which IdPs may sign in, usernames per IdP, and
// the IdP's own allow rules. The end-to-end attack of GHSA-r7v4-jwx9-wx43 is in
// tests/integration/test_advisories.py.
#include "auth/cilogon.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace nbhub::auth {
namespace {

namespace json = boost::json;

constexpr char kIdps[] = R"([
  {"entity_id": "https://idp.a.edu/idp/shibboleth", "allow_all": true,
   "username_derivation": {"username_claim": "email", "action": "strip_idp_domain", "domain": "A.edu"}},
  {"entity_id": "http://github.com/login/oauth/authorize", "default": true,
   "username_derivation": {"username_claim": "preferred_username", "action": "prefix", "prefix": "github"},
   "allowed_domains": ["B.org", "*.c.org"], "allowed_domains_claim": "email"},
  {"entity_id": "urn:mace:incommon:d.edu", "username_derivation": {"username_claim": "eppn"}}
])";

std::vector<config::CilogonIdp> idps() {
  auto r = parse_cilogon_idps(kIdps);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : std::vector<config::CilogonIdp>{};
}

TEST(Cilogon, ParsesOAuthenticatorsSchema) {
  auto v = idps();
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].action, config::CilogonIdp::Action::strip_idp_domain);
  EXPECT_TRUE(v[0].allow_all);
  EXPECT_EQ(v[1].prefix, "github");
  EXPECT_EQ(v[1].allowed_domains, (std::vector<std::string>{"b.org", "*.c.org"}));  // lower-cased
  EXPECT_EQ(v[2].action, config::CilogonIdp::Action::none);
  EXPECT_EQ(selected_idp_param(v),
            "http://github.com/login/oauth/authorize,https://idp.a.edu/idp/shibboleth,urn:mace:incommon:d.edu");
}

TEST(Cilogon, RefusesBadConfigurationNamingWhere) {
  auto err = [](std::string_view text) {
    auto r = parse_cilogon_idps(text);
    return r ? std::string("accepted") : r.error().message;
  };
  EXPECT_EQ(err(R"({"a": 1})"), "idps: expected an array of tables");
  EXPECT_EQ(err(R"([{"entity_id": "a.edu", "username_derivation": {"username_claim": "email"}}])"),
            "idps[0]: entity_id \"a.edu\": expected a CILogon EntityID (https://..., http://... or urn:...; "
            "see https://cilogon.org/idplist)");
  EXPECT_EQ(err(R"([{"entity_id": "https://a/"}])"),
            "idps[0]: username_derivation: required, a table with username_claim");
  EXPECT_EQ(err(R"([{"entity_id": "https://a/", "username_derivation": {"action": "prefix", "username_claim": "x"}}])"),
            "idps[0]: username_derivation.prefix: required with action = \"prefix\"");
  EXPECT_EQ(err(R"([{"entity_id": "https://a/", "username_derivation": {"username_claim": "x", "action": "strip"}}])"),
            "idps[0]: username_derivation.action: expected \"strip_idp_domain\" or \"prefix\", got \"strip\"");
  EXPECT_EQ(err(R"([{"entity_id": "https://a/", "username_derivation": {"username_claim": "x"}, "alow_all": true}])"),
            "idps[0]: unknown key alow_all; expected entity_id, username_derivation, allow_all, allowed_domains, "
            "allowed_domains_claim or default");
  EXPECT_EQ(err(R"([{"entity_id": "https://a/", "username_derivation": {"username_claim": "x"}},
                    {"entity_id": "https://a/", "username_derivation": {"username_claim": "y"}}])"),
            "idps[1]: entity_id \"https://a/\" is listed twice");
  EXPECT_EQ(err("[]"), "accepted");
}

TEST(Cilogon, DerivesUsernamesPerIdp) {
  auto v = idps();
  auto user = [&](json::object claims) { return cilogon_user(v, claims); };
  auto a = user({{"idp", "https://idp.a.edu/idp/shibboleth"}, {"email", "Alice@a.EDU"}});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->username, "Alice");  // the domain is cut case-insensitively; lower case comes later
  EXPECT_EQ(a->allowed_by, "allow_all of idp https://idp.a.edu/idp/shibboleth");
  auto other = user({{"idp", "https://idp.a.edu/idp/shibboleth"}, {"email", "alice@elsewhere.org"}});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->username, "alice@elsewhere.org");  // only the configured domain is stripped
  auto gh = user({{"idp", "http://github.com/login/oauth/authorize"}, {"preferred_username", "alice"},
                  {"email", "alice@x.c.org"}});
  ASSERT_TRUE(gh);
  EXPECT_EQ(gh->username, "github:alice");
  EXPECT_EQ(gh->allowed_by, "allowed_domains *.c.org of idp http://github.com/login/oauth/authorize");
  auto gh_other = user({{"idp", "http://github.com/login/oauth/authorize"}, {"preferred_username", "mallory"},
                        {"email", "mallory@evil.org"}});
  ASSERT_TRUE(gh_other);
  EXPECT_EQ(gh_other->allowed_by, "");  // signs in only if a hub-wide rule allows
  auto d = user({{"idp", "urn:mace:incommon:d.edu"}, {"eppn", "carol@d.edu"}});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->username, "carol@d.edu");
  EXPECT_EQ(d->allowed_by, "");
}

TEST(Cilogon, RefusesIdpsNotListed) {
  auto v = idps();
  auto r = cilogon_user(v, {{"idp", "https://evil.example/idp"}, {"email", "alice@a.edu"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::forbidden);
  EXPECT_EQ(r.error().message, "Signing in through the identity provider https://evil.example/idp is not allowed "
                               "on this hub. Choose one of the hub's identity providers on CILogon's page.");
  EXPECT_FALSE(cilogon_user(v, {{"email", "alice@a.edu"}}));
  EXPECT_FALSE(cilogon_user(v, {{"idp", 7}, {"email", "alice@a.edu"}}));
  auto missing = cilogon_user(v, {{"idp", "urn:mace:incommon:d.edu"}, {"email", "carol@d.edu"}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "Your identity provider urn:mace:incommon:d.edu did not send the claim \"eppn\" "
                                     "this hub uses as the username. Tell your hub administrator.");
}

}  // namespace
}  // namespace nbhub::auth
