#include "web/routes.hpp"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "auth/login_flow.hpp"
#include "auth/password_login.hpp"
#include "config/config.hpp"
#include "core/next_url.hpp"
#include "http/cookies.hpp"
#include "hub/login_service.hpp"
#include "web/base_url.hpp"
#include "web/form.hpp"
#include "web/handler_hooks.hpp"
#include "web/html.hpp"

namespace nbhub::web {

namespace net = boost::asio;
using http::Context;
using http::Response;

namespace {

unsigned status_for(Errc c) {
  switch (c) {
    case Errc::bad_request: return 400;
    case Errc::unauthorized: return 401;
    case Errc::forbidden: return 403;
    case Errc::not_found: return 404;
    case Errc::conflict: return 409;
    case Errc::too_large: return 413;
    case Errc::unavailable: return 503;
    case Errc::bad_gateway: return 502;
    default: return 500;
  }
}

struct Hub {
  WebDeps d;
  std::string base_path;  // base_url decoded, as the router sees it: "/" or "/x y/"
  std::string base;       // base_url encoded, for everything sent out: "/" or "/x%20y/"

  std::string hub(std::string_view rest = "") const { return base + "hub/" + std::string(rest); }

  http::CookieOptions cookie_opts(Context const& ctx, std::string path) const {
    return {.path = std::move(path), .secure = ctx.secure};
  }

  // Where the IdP sends the browser back. public_url wins (behind a load balancer the Host
  // header may be an internal name); then the Host the browser used.
  std::string default_redirect_uri(Context const& ctx) const {
    auto origin = d.cfg.load()->public_url.empty() ? ctx.scheme() + "://" + ctx.host : d.cfg.load()->public_url;
    while (!origin.empty() && origin.back() == '/') origin.pop_back();
    return origin + hub("oauth_callback");
  }

  std::string origin(Context const& ctx) const {
    auto o = d.cfg.load()->public_url.empty() ? ctx.scheme() + "://" + ctx.host : d.cfg.load()->public_url;
    while (!o.empty() && o.back() == '/') o.pop_back();
    return o;
  }

  Response page(unsigned status, std::string title, std::string body,
                std::optional<PageUser> user = std::nullopt) const {
    return http::html_response(status, render({std::move(title), std::move(body), std::move(user), base}));
  }

  Response error_page(Errc code, std::string const& message) const {
    auto status = status_for(code);
    return page(status, "Sign-in problem", error_body(status, message, hub("login"), "Try signing in again"));
  }

  std::string checked_next(Context const& ctx) const { return web::checked_next(ctx, base, d.log); }

  net::awaitable<std::optional<store::UserRow>> current_user(Context const& ctx) const {
    auto token = ctx.cookie(hub::LoginService::kCookieName);
    if (!token || token->empty()) co_return std::nullopt;
    auto user = co_await d.logins.user_for_session(*token);
    if (!user) co_return std::nullopt;
    co_return std::move(*user);
  }

  // next = the target as the browser sent it (encoded, with its query), as JupyterHub's
  // request.uri; the decoded path would lose the query and fail the gate on a space.
  std::string login_redirect(Context const& ctx) const {
    return hub("login") + "?next=" + url_encode(ctx.raw_target);
  }

  // Where a signed-in user goes when no `next` says (JupyterHub's get_next_url): default_url,
  // else their server through /hub/spawn (which starts it, shows its progress or opens it),
  // else the home page. Errc::config when a default_url function failed.
  net::awaitable<Result<std::string>> landing(Context const& ctx, std::string const& next,
                                              std::optional<std::string> user) const {
    if (!next.empty()) co_return next;
    auto const cfg = d.cfg.load();
    auto url = co_await default_url_for(d.handler_hooks, *cfg, ctx, std::move(user));
    if (!url || !url->empty()) co_return url;
    co_return cfg->redirect_to_server ? hub("spawn") : hub("home");
  }

  Response redirect_or_error(Result<std::string> const& to) const {
    if (!to) return page(500, "Configuration problem", error_body(500, to.error().message, hub("home"), "Home"));
    return http::redirect_response(*to);
  }

  // --- handlers --------------------------------------------------------------------------

  net::awaitable<Response> root(Context& ctx) const {
    // JupyterHub's RootHandler: default_url wins for everyone, signed in or not. A function
    // needs to know who asks; a plain value does not.
    auto const cfg = d.cfg.load();
    auto const by_function = d.handler_hooks && d.handler_hooks->default_url;
    if (!by_function && !cfg->default_url.empty()) co_return http::redirect_response(cfg->default_url);
    auto user = co_await current_user(ctx);
    auto name = user ? std::optional<std::string>(user->name) : std::nullopt;
    auto url = co_await default_url_for(d.handler_hooks, *cfg, ctx, name);
    if (!url || !url->empty()) co_return redirect_or_error(url);
    if (!user) co_return http::redirect_response(hub("login"));
    co_return http::redirect_response(cfg->redirect_to_server ? hub("spawn") : hub("home"));
  }

  // The login page: a button per OAuth provider, the password form when there is a password
  // provider, or 403 when there is no way to sign in at all (JupyterHub's NullAuthenticator:
  // its auto-login finds nobody and answers 403).
  Response login_page(Context const& ctx, std::string const& next, unsigned status = 200,
                      std::string const& notice = "", std::string const& username = "") const {
    auto const providers_now = d.flow.providers();
    auto const forms_now = d.passwords.providers();
    auto const& providers = *providers_now;
    auto const& forms = *forms_now;
    if (providers.empty() && forms.empty())
      return page(403, "No sign-in", error_body(403, "There is no sign-in on this hub: it is used "
                                                     "through its REST API with API tokens.",
                                                "", ""));
    auto href = [&](std::string const& name) {
      auto h = hub("oauth_login") + "?provider=" + url_encode(name);
      if (!next.empty()) h += "&next=" + url_encode(next);
      return h;
    };
    if (d.cfg.load()->auth.auto_login && providers.size() == 1 && forms.empty() && notice.empty())
      return http::redirect_response(href(providers.front().name));
    std::vector<LoginButton> buttons;
    for (auto const& p : providers) buttons.push_back({"Sign in with " + p.login_service, href(p.name)});
    if (forms.empty()) return page(status, "Sign in", login_body(buttons, notice));
    auto ticket = d.passwords.begin(next);
    if (!ticket) return error_page(ticket.error().code, ticket.error().message);
    LoginForm form{.action = hub("login") + (next.empty() ? "" : "?next=" + url_encode(next)),
                   .xsrf = ticket->xsrf, .username = username};
    if (forms.size() > 1)
      for (auto const& p : forms) form.providers.push_back(p.name);
    auto res = page(status, "Sign in", login_body(buttons, notice, &form));
    auto opts = cookie_opts(ctx, hub());
    opts.max_age = d.cfg.load()->auth.login_state_ttl;
    res.insert(http::bhttp::field::set_cookie, http::set_cookie(auth::PasswordLogin::kCookieName, ticket->cookie, opts));
    res.set(http::bhttp::field::cache_control, "no-store");
    return res;
  }

  net::awaitable<Response> login(Context& ctx) const {
    auto next = checked_next(ctx);
    if (auto user = co_await current_user(ctx)) co_return redirect_or_error(co_await landing(ctx, next, user->name));
    co_return login_page(ctx, next);
  }

  // POST /hub/login: the password form (kind = "dummy" or "shared-password").
  net::awaitable<Response> login_post(Context& ctx) const {
    auto clear_ticket = http::clear_cookie(auth::PasswordLogin::kCookieName, cookie_opts(ctx, hub()));
    if (d.passwords.providers()->empty())
      co_return page(403, "No sign-in", error_body(403, "This hub does not sign in with a username and password.",
                                                   hub("login"), "Go to the login page"));
    auto form = parse_form(ctx.req.body());
    auto done = d.passwords.complete(form, ctx.cookie(auth::PasswordLogin::kCookieName).value_or(""));
    if (!done) {
      // JupyterHub 3.0 answers a wrong password with the login page again, its message and
      // 200. The name is offered again only when it could be one (CVE-2026-54338: never echo
      // a megabyte of it).
      auto first = form.find("username");
      auto again = first == form.end() || first->second.size() > 255 ? std::string{} : first->second;
      auto res = done.error().code == Errc::unauthorized
                     ? login_page(ctx, checked_next(ctx), 200, done.error().message, again)
                     : error_page(done.error().code, done.error().message);
      if (done.error().code != Errc::unauthorized) res.insert(http::bhttp::field::set_cookie, clear_ticket);
      co_return res;
    }
    auto& [identity, next] = *done;
    co_return co_await sign_in(ctx, std::move(identity), next, clear_ticket);
  }

  // After an authenticator vouched for someone: the allow decision, the session, the cookie.
  // `clear` drops the cookie that carried this login's state.
  net::awaitable<Response> sign_in(Context& ctx, auth::Identity identity, std::string next,
                                   std::string clear) const {
    auto signed_in = co_await d.logins.sign_in(std::move(identity));
    if (!signed_in) {
      auto res = error_page(signed_in.error().code, signed_in.error().message);
      res.insert(http::bhttp::field::set_cookie, clear);
      co_return res;
    }
    auto to = co_await landing(ctx, next, signed_in->user.name);
    auto res = redirect_or_error(to);
    auto opts = cookie_opts(ctx, hub());
    opts.max_age = d.cfg.load()->auth.cookie_max_age;
    res.insert(http::bhttp::field::set_cookie, clear);
    res.insert(http::bhttp::field::set_cookie, http::set_cookie(hub::LoginService::kCookieName, signed_in->session_token, opts));
    co_return res;
  }

  net::awaitable<Response> oauth_login(Context& ctx) const {
    auto provider = ctx.query_param("provider").value_or("");
    if (auto const all = d.flow.providers(); provider.empty() && all->size() == 1) provider = all->front().name;
    auto r = d.flow.begin(provider, checked_next(ctx), default_redirect_uri(ctx));
    if (!r) co_return error_page(r.error().code, r.error().message);
    auto res = http::redirect_response(r->location);
    auto opts = cookie_opts(ctx, hub());
    opts.max_age = d.cfg.load()->auth.login_state_ttl;
    res.insert(http::bhttp::field::set_cookie, http::set_cookie(auth::LoginStateSealer::kCookieName, r->state_cookie, opts));
    co_return res;
  }

  net::awaitable<Response> oauth_callback(Context& ctx) const {
    auto cookie = ctx.cookie(auth::LoginStateSealer::kCookieName).value_or("");
    auto clear_state = http::clear_cookie(auth::LoginStateSealer::kCookieName, cookie_opts(ctx, hub()));
    auto query = ctx.query;
    auto redirect_uri = default_redirect_uri(ctx);
    auto done = co_await d.flow.complete(std::move(query), cookie, std::move(redirect_uri));
    if (!done) {
      auto res = error_page(done.error().code, done.error().message);
      res.insert(http::bhttp::field::set_cookie, clear_state);
      co_return res;
    }
    auto& [identity, next] = *done;
    co_return co_await sign_in(ctx, std::move(identity), std::move(next), std::move(clear_state));
  }

  net::awaitable<Response> logout(Context& ctx) const {
    std::string idp_url;
    if (auto token = ctx.cookie(hub::LoginService::kCookieName); token && !token->empty()) {
      auto ended = co_await d.logins.sign_out(*token);
      if (!ended.provider.empty())
        idp_url = d.flow.logout_url(ended.provider, ended.id_token, origin(ctx) + hub("login"));
    }
    auto res = idp_url.empty() ? page(200, "Signed out", logged_out_body(hub("login")))
                               : http::redirect_response(idp_url);
    res.insert(http::bhttp::field::set_cookie, http::clear_cookie(hub::LoginService::kCookieName, cookie_opts(ctx, hub())));
    co_return res;
  }

  net::awaitable<Response> not_found(Context& ctx) const {
    // Paths under base_url outside the hub prefix go into it, as JupyterHub's
    // PrefixRedirectHandler does; everything else is a 404 page.
    if (ctx.path.starts_with(base_path) && !ctx.path.starts_with(base_path + "hub/") &&
        ctx.req.method() == http::bhttp::verb::get) {
      auto rest = ctx.path.substr(base_path.size());
      if (rest != "hub") co_return http::redirect_response(hub(path_encode(rest)));
      co_return http::redirect_response(hub());
    }
    co_return page(404, "Not found", error_body(404, "There is nothing at this address.", hub(), "Go to the hub"));
  }
};

template <auto Method>
http::Handler bind(std::shared_ptr<Hub const> h) {
  return [h](Context& ctx) -> net::awaitable<Response> { co_return co_await ((*h).*Method)(ctx); };
}

}  // namespace

void add_hub_routes(http::Router& router, WebDeps deps) {
  auto h = std::make_shared<Hub const>(Hub{deps, route_prefix(deps.cfg.load()->base_url), url_prefix(deps.cfg.load()->base_url)});
  auto b = h->base_path;
  router.get(b, bind<&Hub::root>(h));
  router.get(b + "hub/", bind<&Hub::root>(h));
  router.get(b + "hub/login", bind<&Hub::login>(h));
  router.post(b + "hub/login", bind<&Hub::login_post>(h));
  router.get(b + "hub/oauth_login", bind<&Hub::oauth_login>(h));
  router.get(b + "hub/oauth_callback", bind<&Hub::oauth_callback>(h));
  router.get(b + "hub/logout", bind<&Hub::logout>(h));
  router.get(b + "hub/health", [h](Context&) -> net::awaitable<Response> {
    if (h->d.health_problem) {
      auto problem = co_await h->d.health_problem();
      if (!problem.empty())
        co_return http::json_response(
            503, boost::json::serialize(boost::json::object{{"status", "unavailable"}, {"reason", problem}}));
    }
    co_return http::json_response(200, R"({"status":"ok"})");
  });
  router.get(b + "hub/static/nbhub.css", [](Context&) -> net::awaitable<Response> {
    auto res = http::text_response(200, std::string(stylesheet()), "text/css; charset=utf-8");
    res.set(http::bhttp::field::cache_control, "public, max-age=3600");
    co_return res;
  });
  router.fallback(bind<&Hub::not_found>(h));
}

}  // namespace nbhub::web
