#include "app/provider_setup.hpp"

#include <spdlog/spdlog.h>

#include "auth/provider.hpp"

namespace nbhub::app {

boost::asio::awaitable<Result<config::ProviderConfig>> resolve_provider(config::ProviderConfig raw,
                                                                        http::HttpClient& http,
                                                                        spdlog::logger& log) {
  auto p = auth::apply_preset(std::move(raw));
  if (!p) co_return p.error();
  if (!p->issuer.empty() && (p->authorize_url.empty() || p->token_url.empty() || p->jwks_url.empty())) {
    auto r = co_await auth::discover(*p, http);
    if (!r) co_return r.error();
  }
  switch (auth::sign_in_of(*p)) {
    case auth::SignIn::redirect:
      if (!p->tls_verify) log.warn("auth.providers[{}]: TLS verification is off for this provider", p->name);
      log.info("provider {} ({}): \"Sign in with {}\"", p->name, p->kind, p->login_service);
      if (p->kind == "cilogon" && p->cilogon_idps.empty())
        log.warn("auth.providers[{}]: no `idps`: users may sign in through ANY identity provider CILogon "
                 "federates, and the same username from two of them is one hub user (OAuthenticator's "
                 "GHSA-r7v4-jwx9-wx43). List the identity providers you trust in `idps`.", p->name);
      break;
    case auth::SignIn::password_form:
      if (p->kind == "shared-password") {
        log.warn("provider {} is kind = \"shared-password\" (JupyterHub's SharedPasswordAuthenticator): "
                 "whoever knows the user password can sign in as ANY allowed non-admin user. Meant for "
                 "short workshops; user password {}, admin password {}",
                 p->name, p->user_password.empty() ? "not set" : "set",
                 p->admin_password.empty() ? "not set" : "set");
        break;
      }
      log.warn("provider {} is kind = \"dummy\" (JupyterHub's DummyAuthenticator): ANYONE can sign in "
               "with any username and {}. FOR TESTING ONLY: never use it on a hub others can reach.",
               p->name, p->password.empty() ? "any password" : "the one configured password");
      break;
    case auth::SignIn::none:
      log.info("provider {} is kind = \"null\" (JupyterHub's NullAuthenticator): nobody signs in; the hub "
               "is used through its REST API with tokens (services' api_token, `nbhub token`)", p->name);
      break;
  }
  co_return std::move(*p);
}

}  // namespace nbhub::app
