// Whole-configuration checks, after every layer is applied (as mod_auth_openidc's
// src/cfg/check.c: all problems at once, each with where it was set).
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include "config/layers.hpp"
#include "config/spawner_traits.hpp"
#include "config/text.hpp"

namespace nbhub::config {

namespace {

// Where to point a finding about option `key`: where it was set, else the provider's table,
// else nowhere in particular.
Origin at(ConfigBuilder const& b, int provider, std::string_view key) {
  if (auto const* o = b.origin_of(provider, key)) return *o;
  if (provider >= 0) {
    Origin o = b.provider_origin(provider);
    o.option = fmt::format("auth.providers[{}].{}", provider, key);
    return o;
  }
  return Origin{"", 0, std::string(key)};
}

bool is_loopback_host(std::string_view host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

bool is_ip_address(std::string const& s) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool is_test_kind(std::string_view kind) { return kind == "dummy" || kind == "null"; }
// Kinds with no identity provider behind them: no client, no endpoints.
bool is_idp_less_kind(std::string_view kind) { return is_test_kind(kind) || kind == "shared-password"; }

// Python's len() of a str, which SharedPasswordAuthenticator's minimum lengths count: code
// points, not bytes.
std::size_t characters(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

// JupyterHub 5.3's SharedPasswordAuthenticator rules: user_password at least 8 characters,
// admin_password at least 32, and never the same; either may be left out.
void check_shared_password(ConfigBuilder& b, int i) {
  auto const& p = b.provider(i);
  auto const& admins = b.hub().auth.admin_users;
  auto const user = p.user_password.reveal();
  auto const admin = p.admin_password.reveal();
  if (!user.empty() && characters(user) < 8)
    b.error(at(b, i, "user_password"), fmt::format("must be at least 8 characters long, got {} "
                                                   "characters", characters(user)));
  if (!admin.empty() && characters(admin) < 32)
    b.error(at(b, i, "admin_password"), fmt::format("must be at least 32 characters, not {}",
                                                    characters(admin)));
  if (!user.empty() && user == admin)
    b.error(at(b, i, "admin_password"), "cannot be the same as user_password");
  if (user.empty() && admin.empty())
    b.warn(at(b, i, "user_password"), "neither user_password nor admin_password is set: nobody "
                                      "will be able to sign in");
  else if (user.empty())
    b.warn(at(b, i, "user_password"), "is not set: only auth.admin_users can sign in");
  if (!admin.empty() && admins.empty())
    b.warn(at(b, i, "admin_password"), "is set, but auth.admin_users is empty: no admin will be "
                                       "able to sign in; list them in auth.admin_users");
  if (admin.empty() && !admins.empty())
    b.warn(at(b, i, "admin_password"), "is not set, but auth.admin_users is: those users cannot "
                                       "sign in until it is set");
}

void check_provider(ConfigBuilder& b, int i) {
  auto const& p = b.provider(i);
  auto require = [&](std::string const& value, std::string_view key, std::string why) {
    if (value.empty()) b.error(at(b, i, key), fmt::format("required {}", why));
  };
  if (!p.password.empty() && p.kind != "dummy")
    b.error(at(b, i, "password"), fmt::format("is only read by kind = \"dummy\" (this provider is "
                                              "kind = {}); remove it",
                                              dquoted(p.kind)));
  if (p.kind != "shared-password")
    for (auto key : {"user_password", "admin_password"})
      if (!(std::string_view(key) == "user_password" ? p.user_password : p.admin_password).empty())
        b.error(at(b, i, key), fmt::format("is only read by kind = \"shared-password\" (this "
                                           "provider is kind = {}); remove it",
                                           dquoted(p.kind)));
  if (p.kind == "shared-password") check_shared_password(b, i);
  // JupyterHub's own authenticators talk to no identity provider: no client, no endpoints.
  if (is_idp_less_kind(p.kind)) return;
  require(p.client_id, "client_id",
          "for every provider: the OAuth client id registered at the provider (or "
          "OAUTH_CLIENT_ID in the environment)");
  if (p.kind == "generic") {
    require(p.authorize_url, "authorize_url", "for kind = \"generic\" (or OAUTH2_AUTHORIZE_URL)");
    require(p.token_url, "token_url", "for kind = \"generic\" (or OAUTH2_TOKEN_URL)");
  } else if (p.kind == "oidc") {
    require(p.issuer, "issuer", "for kind = \"oidc\": the issuer URL used for discovery");
  } else if (p.kind == "cognito") {
    require(p.cognito_domain, "cognito_domain",
            "for kind = \"cognito\": PREFIX.auth.REGION.amazoncognito.com or your custom domain");
  } else if (p.kind == "custos") {
    require(p.custos_host, "custos_host", "for kind = \"custos\" (or CUSTOS_HOST)");
    if (p.client_secret.empty() && p.client_secret_file.empty())
      b.error(at(b, i, "client_secret"),
              "required for kind = \"custos\": Custos authenticates the client with it");
  }
  if (!p.userdata_url.empty() && p.userdata_from_id_token)
    b.error(at(b, i, "userdata_from_id_token"),
            "cannot be combined with userdata_url; set one of them (as OAuthenticator)");
  if (p.username_claim.empty())
    b.error(at(b, i, "username_claim"), "required: the claim that gives the hub username");
  if (!p.tls_verify)
    b.warn(at(b, i, "tls_verify"),
           "TLS certificates of this provider are not verified; use only for testing");
  for (auto key : {"token_url", "userdata_url"}) {
    auto const& url = std::string_view(key) == "token_url" ? p.token_url : p.userdata_url;
    auto u = boost::urls::parse_absolute_uri(url);
    if (u && to_lower(u->scheme()) == "http" && !is_loopback_host(u->encoded_host()))
      b.warn(at(b, i, key), "uses plain http: tokens would cross the network unencrypted");
  }
}

// [tls.acme]: every error at once, each naming its key.
void check_acme(ConfigBuilder& b) {
  auto const& acme = b.hub().acme;
  if (!acme.enabled()) return;
  if (!b.hub().ssl_cert.empty())
    b.error(at(b, -1, "ssl_cert"),
            "ssl_cert and tls.acme.domains cannot both be set: the certificate comes either from "
            "files or from the ACME CA; remove one of them");
  if (!acme.accept_terms)
    b.error(at(b, -1, "tls.acme.accept_terms"),
            "must be true: the ACME CA issues certificates only to accounts that agree to its terms "
            "of service (Let's Encrypt's: https://letsencrypt.org/repository/); read them, then set "
            "accept_terms = true");
  if (acme.directory_url.empty())
    b.error(at(b, -1, "tls.acme.directory_url"), "required when tls.acme.domains is set");
  for (auto const& d : acme.domains)
    if (d.empty() || d.find_first_of(" /:@*") != std::string::npos || d.front() == '.' || d.back() == '.')
      b.error(at(b, -1, "tls.acme.domains"),
              fmt::format("{} is not a DNS name (wildcards need DNS-01, which nbhub does not do)",
                          dquoted(d)));
  if (acme.contact_email.find('@') == std::string::npos && !acme.contact_email.empty())
    b.error(at(b, -1, "tls.acme.contact_email"), fmt::format("{} is not an e-mail address", dquoted(acme.contact_email)));
  if (acme.renew_at_percent < 10 || acme.renew_at_percent > 95)
    b.error(at(b, -1, "tls.acme.renew_at_percent"), "must be between 10 and 95");
  if (acme.check_interval.count() < 1)
    b.error(at(b, -1, "tls.acme.check_interval_seconds"), "must be at least 1");
  if (acme.retry_min.count() < 1)
    b.error(at(b, -1, "tls.acme.retry_min_seconds"), "must be at least 1");
  if (acme.retry_max < acme.retry_min)
    b.error(at(b, -1, "tls.acme.retry_max_seconds"), "must be at least tls.acme.retry_min_seconds");
  if (acme.lease.count() < 30)
    b.error(at(b, -1, "tls.acme.lease_seconds"), "must be at least 30");
  if (acme.order_timeout.count() < 1)
    b.error(at(b, -1, "tls.acme.order_timeout_seconds"), "must be at least 1");
}

}  // namespace

void validate(ConfigBuilder& b) {
  auto const& hub = b.hub();
  auto const& auth = hub.auth;

  if (hub.ssl_cert.empty() != hub.ssl_key.empty())
    b.error(at(b, -1, hub.ssl_cert.empty() ? "ssl_key" : "ssl_cert"),
            "ssl_cert and ssl_key go together; set both or neither");
  // The files themselves are read and checked at startup (app/hub_app.cpp): exit 2 naming them.
  if (hub.redirect_port != 0 && hub.ssl_cert.empty() && !hub.acme.enabled())
    b.error(at(b, -1, "redirect_port"), "redirects to https, which needs ssl_cert and ssl_key (or tls.acme)");
  if (hub.tls.check_interval.count() < 1 || hub.tls.check_interval.count() > 3600)
    b.error(at(b, -1, "tls.check_interval_seconds"), "must be between 1 and 3600");
  if (hub.tls.ticket_key_rotation.count() < 60 || hub.tls.ticket_key_rotation.count() > 302400)
    b.error(at(b, -1, "tls.ticket_key_rotation_seconds"),
            "must be between 60 and 302400 (a ticket lives two rotations; TLS 1.3 allows 7 days)");
  if (hub.redirect_port != 0 && hub.redirect_port == hub.port)
    b.error(at(b, -1, "redirect_port"), "must differ from port");
  // A path on this hub: an absolute URL here would be an open redirect target for everyone.
  if (!hub.default_url.empty() && (hub.default_url.front() != '/' || hub.default_url.starts_with("//")))
    b.error(at(b, -1, "default_url"),
            fmt::format("{} is not a path on this hub; give a path such as \"/hub/home\"", dquoted(hub.default_url)));
  if (hub.hub_bind_url.empty())
    b.error(at(b, -1, "hub_bind_url"), "required: where the hub API listens");
  if (hub.replica_lease.count() < 3 || hub.replica_lease.count() > 3600)
    b.error(at(b, -1, "replica_lease_seconds"),
            "must be between 3 and 3600: it is renewed every third of it, and a shorter lease "
            "would hand servers over while their replica is merely busy");
  if (hub.cull.enabled && hub.cull.every.count() == 0)
    b.error(at(b, -1, "cull.every_seconds"), "must be more than 0 when cull.enabled is true");
  if (hub.managed_services.restart_delay.count() < 1)
    b.error(at(b, -1, "managed_services.restart_delay_seconds"),
            "must be at least 1: a service that fails at once would otherwise be restarted in a busy loop");
  else if (hub.managed_services.restart_max_delay < hub.managed_services.restart_delay)
    b.error(at(b, -1, "managed_services.restart_max_delay_seconds"),
            "must be at least managed_services.restart_delay_seconds");
  if (hub.proxy.buffer_bytes == 0)
    b.error(at(b, -1, "proxy.buffer_bytes"), "must be more than 0");
  // A literal address: servers bind to it and the hub's routes name it (no name lookups).
  if (auto const& ip = hub.spawner_settings.ip; !is_ip_address(ip))
    b.error(at(b, -1, "spawner.ip"), fmt::format("{} is not an IPv4 or IPv6 address", dquoted(ip)));
  if (hub.proxy.stall_timeout.count() < 1)
    b.error(at(b, -1, "proxy.stall_timeout_seconds"), "must be at least 1: 0 would cut every proxied body");
  if (hub.hub_threads > 256)
    b.error(at(b, -1, "hub_threads"), "must be between 0 and 256");
  if (hub.proxy.threads == 0 || hub.proxy.threads > 256)
    b.error(at(b, -1, "proxy.threads"), "must be between 1 and 256");
  if (hub.proxy.busy_poll_microseconds > 10000)
    b.error(at(b, -1, "proxy.busy_poll_microseconds"), "must be at most 10000 (10 ms)");
  if (auth.jwks_refetch_interval.count() < 1 || auth.jwks_refetch_interval.count() > 300)
    b.error(at(b, -1, "auth.jwks_refetch_interval_seconds"),
            "must be between 1 and 300 (seconds): 0 would let every token with an unknown key "
            "id send a request to the provider");
  if (hub.spawner == "local" && !hub.spawner_settings.run_as_system_user) {
    auto const& tmpl = hub.spawner_settings.home_dir_template;
    if (auto why = home_dir_template_problem(tmpl); !why.empty())
      b.error(at(b, -1, "spawner.home_dir_template"), fmt::format("{}: {}", dquoted(tmpl), why));
  }
  check_acme(b);
  if (!hub.http_client.tls_verify)
    b.warn(at(b, -1, "http_client.tls_verify"),
           "TLS certificates of outbound calls are not verified; use only for testing");

  // OAuthenticator 17: group-based rules only work when the authenticator manages groups, and
  // it refuses to start otherwise; so do we.
  for (auto key : {"auth.allowed_groups", "auth.admin_groups"}) {
    auto const& groups = std::string_view(key) == "auth.allowed_groups" ? auth.allowed_groups
                                                                         : auth.admin_groups;
    if (!groups.empty() && !auth.manage_groups)
      b.error(at(b, -1, key),
              "requires auth.manage_groups = true (as OAuthenticator 17: groups come from the "
              "provider's groups claim)");
  }

  // Providers that take an allow rule: not null (no sign-in), not dummy (allows everyone
  // unless allowed_users is set, as JupyterHub 5's DummyAuthenticator).
  bool const rules_matter = std::any_of(auth.providers.begin(), auth.providers.end(),
                                        [](auto const& p) { return !is_test_kind(p.kind); });
  if (auth.providers.empty()) {
    b.warn(Origin{}, "no identity provider is configured ([[auth.providers]]); nobody can log in "
                     "(set kind = \"null\" for a hub used only through its API)");
  } else if (rules_matter && auth.allowed_users.empty() && auth.admin_users.empty() &&
             auth.allowed_groups.empty() && !auth.allow_all && !auth.allow_existing_users) {
    b.warn(Origin{"", 0, "auth"},
           "no allow rule is set, so nobody may log in (deny by default, as OAuthenticator 16+); "
           "set allow_all, allowed_users, admin_users or allowed_groups");
  }

  for (int i = 0; i < b.provider_count(); ++i) {
    for (int j = 0; j < i; ++j)
      if (b.provider(j).name == b.provider(i).name)
        b.error(at(b, i, "name"),
                fmt::format("{} is already the name of auth.providers[{}]; give each provider its "
                            "own name",
                            dquoted(b.provider(i).name), j));
    if (b.provider(i).kind == "null" && b.provider_count() > 1)
      b.error(at(b, i, "kind"), "kind = \"null\" means nobody signs in (an API-only hub), so it "
                                "cannot be combined with other providers; remove it or them");
    check_provider(b, i);
    if (auth.manage_groups && !is_test_kind(b.provider(i).kind) &&
        b.provider(i).groups_claim.empty())
      b.warn(at(b, i, "groups_claim"),
             "auth.manage_groups is on but this provider has no groups_claim; its users get no "
             "groups");
  }
}

}  // namespace nbhub::config
