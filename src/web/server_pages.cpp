#include "web/server_pages.hpp"

#include <boost/json/object.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/config.hpp"
#include "hub/scopes.hpp"
#include "hub/blocking.hpp"
#include "store/store.hpp"
#include "hub/servers.hpp"
#include "web/base_url.hpp"
#include "web/form.hpp"
#include "web/handler_hooks.hpp"
#include "web/html.hpp"
#include "web/request_auth.hpp"
#include "web/server_routes.hpp"
#include "web/share_pages.hpp"

namespace nbhub::web {

namespace net = boost::asio;
using http::Context;
using http::Response;

namespace {

// How long /hub/spawn waits for a server before it shows the progress page (JupyterHub: 1 s).
constexpr std::chrono::milliseconds kWebSpawnWait{1000};

constexpr std::string_view kPendingScript = R"JS(// Follows the spawn's progress event stream and goes to the server when it is ready.
(function () {
  var root = document.getElementById('progress');
  if (!root || !window.EventSource) return;
  var bar = document.getElementById('progress-bar');
  var log = document.getElementById('progress-log');
  var source = new EventSource(root.dataset.progressUrl);
  source.onmessage = function (e) {
    var ev = JSON.parse(e.data);
    if (typeof ev.progress === 'number') { bar.value = ev.progress; }
    var item = document.createElement('li');
    item.textContent = ev.message || '';
    log.appendChild(item);
    if (ev.ready) { source.close(); window.location.href = root.dataset.nextUrl; }
    if (ev.failed) { source.close(); window.location.reload(); }
  };
})();
)JS";

struct Pages {
  ServerRouteDeps const& d;
  std::string base;

  std::string hub(std::string_view rest = "") const { return base + "hub/" + std::string(rest); }

  Response page(unsigned status, std::string title, std::string body, Caller const& c) const {
    return http::html_response(status, render({std::move(title), std::move(body), PageUser{c.user.name, c.user.admin}, base}));
  }

  std::string spawn_url(std::string const& user, std::string const& server) const {
    auto u = hub("spawn/") + url_encode(user);
    if (!server.empty()) u += "/" + url_encode(server);
    return u;
  }
  std::string pending_url(std::string const& user, std::string const& server) const {
    auto u = hub("spawn-pending/") + url_encode(user);
    if (!server.empty()) u += "/" + url_encode(server);
    return u;
  }

  std::string checked_next(Context const& ctx) const { return web::checked_next(ctx, base, d.log); }
  static std::string with_next(std::string url, std::string const& next) {
    if (!next.empty()) url += "?next=" + url_encode(next);
    return url;
  }

  bool may_use(Caller const& c, std::string const& user) const {
    return c.user.name == user || (c.user.admin && d.cfg.load()->admin_access);
  }

  net::awaitable<std::optional<Caller>> signed_in(Context& ctx, Response& redirect) const {
    auto c = co_await d.auth.from_cookie(ctx);
    if (!c) redirect = http::redirect_response(hub("login") + "?next=" + url_encode(ctx.raw_target));
    co_return c;
  }

  net::awaitable<Response> home(Context& ctx) const {
    Response go;
    auto c = co_await signed_in(ctx, go);
    if (!c) co_return go;
    auto v = d.servers.view(c->user.name, "");
    auto xsrf = d.auth.xsrf_for(c->session_hash);
    std::string body = fmt::format(R"(<section class="card"><h1>Welcome, {}</h1>)", escape(c->user.name));
    auto server_url = d.servers.prefix_for(c->user.name, "");
    switch (v.state) {
      case hub::ServerState::ready:
        body += fmt::format(
            R"(<p>Your server is running.</p><div class="actions"><a class="button primary" href="{}">Open your server</a>)"
            R"(<form method="post" action="{}"><input type="hidden" name="_xsrf" value="{}"><button class="button" type="submit">Stop your server</button></form></div>)",
            escape(server_url), escape(hub("home/stop")), escape(xsrf));
        break;
      case hub::ServerState::pending:
        body += fmt::format(R"(<p>Your server is starting.</p><a class="button primary" href="{}">Follow its progress</a>)",
                            escape(pending_url(c->user.name, "")));
        break;
      case hub::ServerState::stopping:
        body += "<p>Your server is stopping.</p>";
        break;
      case hub::ServerState::stopped:
        if (!v.last_error.empty())
          body += fmt::format(R"(<p class="notice" role="status">The last start failed: {}</p>)", escape(v.last_error));
        body += fmt::format(R"(<p>Your server is not running.</p><a class="button primary" href="{}">Start your server</a>)",
                            escape(spawn_url(c->user.name, "")));
        break;
    }
    body += "</section>";
    if (d.cfg.load()->spawner_settings.allow_named_servers) body += named_servers(*c, xsrf);
    auto sharing = co_await share_home_section(d, *c, xsrf);
    body += sharing;
    co_return page(200, "Home", body, *c);
  }

  // The named servers section of the home page (JupyterHub's home.html table).
  std::string named_servers(Caller const& c, std::string const& xsrf) const {
    std::string out = R"(<section class="card"><h2>Named servers</h2>)";
    std::string rows;
    for (auto const& [name, v] : d.servers.views_for(c.user.name)) {
      if (name.empty() || v.state == hub::ServerState::stopped) continue;
      std::string open = v.state == hub::ServerState::ready
                             ? fmt::format(R"(<a class="button small" href="{}">Open</a>)", escape(d.servers.prefix_for(c.user.name, name)))
                             : fmt::format(R"(<a class="button small" href="{}">Progress</a>)", escape(pending_url(c.user.name, name)));
      rows += fmt::format(
          R"(<tr><td>{}</td><td>{}</td><td class="actions">{}<form method="post" action="{}"><input type="hidden" name="_xsrf" value="{}"><input type="hidden" name="server" value="{}"><button class="button small" type="submit" aria-label="Stop server {}">Stop</button></form></td></tr>)",
          escape(name), escape(hub::to_string(v.state)), open, escape(hub("home/stop")), escape(xsrf), escape(name), escape(name));
    }
    if (rows.empty()) out += R"(<p class="muted">No named servers are running.</p>)";
    else
      out += R"(<div class="table-wrap"><table><thead><tr><th scope="col">Server</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody>)" + rows + "</tbody></table></div>";
    out += fmt::format(
        R"(<form class="inline" method="post" action="{}"><input type="hidden" name="_xsrf" value="{}"><label for="server-name">New server name</label>)"
        R"(<input id="server-name" name="server" type="text" pattern="[^/]+" required><button class="button" type="submit">Add new server</button></form></section>)",
        escape(hub("home/named")), escape(xsrf));
    return out;
  }

  // POST /hub/home/named: to the spawn URL of the named server.
  net::awaitable<Response> start_named(Context& ctx) const {
    Response go;
    auto c = co_await signed_in(ctx, go);
    if (!c) co_return go;
    auto form = parse_form(ctx.req.body());
    auto it = form.find("_xsrf");
    if (!d.auth.xsrf_ok(ctx, *c, it == form.end() ? "" : it->second))
      co_return page(403, "Not allowed", error_body(403, "This form expired or did not come from this hub. Go back, reload and try again.", hub("home"), "Home"), *c);
    auto name = form.find("server") == form.end() ? std::string{} : form.find("server")->second;
    if (name.empty() || name.find('/') != std::string::npos)
      co_return page(400, "Bad server name", error_body(400, "A server name cannot be empty or contain '/'.", hub("home"), "Home"), *c);
    co_return http::redirect_response(spawn_url(c->user.name, name), 303);
  }

  net::awaitable<Response> stop_from_home(Context& ctx) const {
    Response go;
    auto c = co_await signed_in(ctx, go);
    if (!c) co_return go;
    auto form = parse_form(ctx.req.body());
    auto it = form.find("_xsrf");
    if (!d.auth.xsrf_ok(ctx, *c, it == form.end() ? "" : it->second))
      co_return page(403, "Not allowed", error_body(403, "This form expired or did not come from this hub. Go back, reload and try again.", hub("home"), "Home"), *c);
    auto server = form.find("server") == form.end() ? std::string{} : form.find("server")->second;
    auto r = co_await d.servers.stop(c->user.name, server);
    if (!r) d.log.warn("stop from home page for {}: {}", c->user.name, r.error().message);
    co_return http::redirect_response(hub("home"), 303);
  }

  // GET /hub/spawn[/{user}[/{server}]]: start (JupyterHub starts on GET when there is no
  // options form), then to the server or its pending page. With an options form (KubeSpawner's
  // profile_list) GET shows the form and its POST starts with the chosen user_options.
  net::awaitable<Response> spawn(Context& ctx) const {
    Response go;
    auto c = co_await signed_in(ctx, go);
    if (!c) co_return go;
    auto user = ctx.params.size() > 0 ? ctx.params[0] : c->user.name;
    auto server = ctx.params.size() > 1 ? ctx.params[1] : std::string{};
    if (!may_use(*c, user))
      co_return page(403, "Not allowed", error_body(403, fmt::format("You may not start {}'s server.", user), hub("home"), "Home"), *c);
    store::UserRow target = c->user;
    if (user != c->user.name) {
      auto lookup = [this, user]() { return d.store.get_user(user); };
      auto row = co_await hub::run_blocking(d.pool, std::move(lookup));
      if (!row) co_return page(404, "Not found", error_body(404, fmt::format("There is no user called {}.", user), hub("home"), "Home"), *c);
      target = *row;
    }
    boost::json::object options;
    bool posted = ctx.req.method() == http::bhttp::verb::post;
    auto state = d.servers.view(user, server).state;
    std::string form_html;
    if (!posted && state == hub::ServerState::stopped) {
      auto form = co_await d.servers.options_form(target, server);
      if (!form) {
        d.log.warn("spawn form for {}: {}", user, form.error().message);
        co_return page(500, "Cannot show the server options",
                       error_body(500, form.error().message, hub("home"), "Home"), *c);
      }
      form_html = std::move(*form);
    }
    if (!form_html.empty()) {
      auto body = fmt::format(
          R"(<section class="card narrow"><h1>Server options</h1><form method="post" action="{}" class="spawn-options">)"
          R"(<input type="hidden" name="_xsrf" value="{}">{}<button class="button primary" type="submit">Start</button></form></section>)",
          escape(with_next(spawn_url(user, server), checked_next(ctx))), escape(d.auth.xsrf_for(c->session_hash)), form_html);
      co_return page(200, "Server options", std::move(body), *c);
    }
    if (posted) {
      std::vector<std::pair<std::string, std::string>> fields;
      std::string xsrf;
      for (auto const& [k, v] : parse_form(ctx.req.body())) {
        if (k == "_xsrf") xsrf = v;
        else fields.emplace_back(k, v);
      }
      if (!d.auth.xsrf_ok(ctx, *c, xsrf))
        co_return page(403, "Not allowed", error_body(403, "This form expired or did not come from this hub. Go back, reload and try again.", spawn_url(user, server), "Back"), *c);
      auto chosen = co_await d.servers.options_from_form(target, server, std::move(fields));
      if (!chosen) {
        unsigned const code = chosen.error().code == Errc::bad_request ? 400 : 500;
        co_return page(code, "Cannot start", error_body(code, chosen.error().message, spawn_url(user, server), "Back"), *c);
      }
      options = std::move(*chosen);
      auto checked = co_await d.servers.check_user_options(target, server, options);
      if (!checked) {
        unsigned const code = checked.error().code == Errc::bad_request ? 400 : 500;
        co_return page(code, "Cannot start", error_body(code, checked.error().message, spawn_url(user, server), "Back"), *c);
      }
    }
    auto next = checked_next(ctx);
    unsigned const status = posted ? 303 : 302;
    if (!server.empty() && state == hub::ServerState::stopped) {
      auto const cfg = d.cfg.load();
      auto limit = co_await named_server_limit_for(d.handler_hooks, *cfg, ctx, c->user.name);
      if (!limit)
        co_return page(500, "Cannot start", error_body(500, limit.error().message, hub("home"), "Home"), *c);
      auto room = co_await d.servers.check_named_limit(target, server, *limit);
      if (!room) {
        unsigned const code = room.error().code == Errc::bad_request ? 400 : 503;
        co_return page(code, "Cannot start", error_body(code, room.error().message, hub("home"), "Home"), *c);
      }
    }
    auto r = d.servers.start(target, server, std::move(options));
    if (!r) {
      unsigned const code = r.error().code == Errc::unavailable ? 429 : 400;  // too many users, as JupyterHub
      co_return page(code, "Cannot start", error_body(code, r.error().message, hub("home"), "Home"), *c);
    }
    // As JupyterHub: wait a moment, so a server that starts at once opens without the
    // progress page; a spawn that failed that fast is an error page, not a redirect loop.
    if (*r == hub::ServerState::pending) co_await d.servers.wait_progress(user, server, 1u << 30, kWebSpawnWait);
    auto v = d.servers.view(user, server);
    if (v.state == hub::ServerState::ready)
      co_return http::redirect_response(next.empty() ? d.servers.prefix_for(user, server) : next, status);
    if (v.state == hub::ServerState::stopped && !v.last_error.empty())
      co_return page(500, "Server failed to start",
                     error_body(500, "The server could not start: " + v.last_error, spawn_url(user, server), "Try again"), *c);
    co_return http::redirect_response(with_next(pending_url(user, server), next), status);
  }

  net::awaitable<Response> pending(Context& ctx) const {
    Response go;
    auto c = co_await signed_in(ctx, go);
    if (!c) co_return go;
    auto user = ctx.params[0];
    auto server = ctx.params.size() > 1 ? ctx.params[1] : std::string{};
    if (!may_use(*c, user))
      co_return page(403, "Not allowed", error_body(403, "You may not see this server.", hub("home"), "Home"), *c);
    auto v = d.servers.view(user, server);
    auto next = checked_next(ctx);
    auto target = next.empty() ? d.servers.prefix_for(user, server) : next;
    if (v.state == hub::ServerState::ready) co_return http::redirect_response(target);
    if (v.state == hub::ServerState::stopped) {
      auto msg = v.last_error.empty() ? std::string("The server is not running.") : "The server could not start: " + v.last_error;
      co_return page(v.last_error.empty() ? 200 : 500, "Server not running",
                     error_body(v.last_error.empty() ? 200 : 500, msg, spawn_url(user, server), "Try again"), *c);
    }
    auto progress_url = hub("api/users/") + url_encode(user) + (server.empty() ? "/server" : "/servers/" + url_encode(server)) + "/progress";
    // An EventSource cannot set headers: the session's _xsrf rides in the query, as on
    // JupyterHub's page (RequestAuth::xsrf_refusal).
    if (c->via_cookie) progress_url += "?_xsrf=" + url_encode(d.auth.xsrf_for(c->session_hash));
    auto body = fmt::format(
        R"(<section class="card narrow" id="progress" data-progress-url="{}" data-next-url="{}">)"
        R"(<h1>Your server is starting</h1><label for="progress-bar">Progress</label>)"
        R"(<progress id="progress-bar" max="100" value="0">starting</progress>)"
        R"(<ol id="progress-log" class="muted" aria-live="polite"></ol>)"
        R"(<noscript><p>This page needs JavaScript to follow the progress; <a href="">reload it</a> to check.</p></noscript>)"
        R"(</section><script src="{}"></script>)",
        escape(progress_url), escape(target), escape(hub("static/spawn-pending.js")));
    co_return page(200, "Starting", body, *c);
  }

  // /hub/user/{name}/...: reached when the proxy has no route for the server (spec §5.1,
  // JupyterHub's UserUrlHandler). Browsers and tokens alike: an API client that asks a server
  // still starting gets JSON it can act on, never a sign-in page.
  net::awaitable<Response> user_redirect(Context& ctx) const {
    auto const& user = ctx.params[0];
    auto rest = ctx.params.size() > 1 ? ctx.params[1] : std::string{};
    auto caller = co_await d.auth.resolve(ctx);
    if (!caller) co_return http::redirect_response(hub("login") + "?next=" + url_encode(ctx.raw_target));
    auto server = server_in_path(user, rest);
    if (!hub::has_scope(caller->scope_set, "access:servers", {.user = user, .server = server}))
      co_return not_allowed(*caller, fmt::format("You may not open {}'s server.", user));
    auto v = d.servers.view(user, server);
    // The same path and query under /user/: the raw target keeps their encoding.
    auto const under_hub = hub();
    auto target = ctx.raw_target.starts_with(under_hub) ? base + ctx.raw_target.substr(under_hub.size())
                                                        : d.servers.prefix_for(user, server);
    if (v.state == hub::ServerState::ready) co_return http::redirect_response(target);
    if (prefers_json(ctx.header("Accept")) || has_segment(rest, "api")) co_return not_running_json(ctx, user, server);
    if (v.state == hub::ServerState::pending || !v.last_error.empty())
      co_return http::redirect_response(with_next(pending_url(user, server), ctx.raw_target), 303);
    std::string body = fmt::format(R"(<section class="card narrow"><h1>Server not running</h1><p>{}'s server is not running.</p>)", escape(user));
    body += fmt::format(R"(<a class="button primary" href="{}">Start the server</a>)", escape(with_next(spawn_url(user, server), ctx.raw_target)));
    body += "</section>";
    co_return page(424, "Server not running", body, *caller);
  }

  // Any other method there: JupyterHub assumes an API call to a server that is not running.
  net::awaitable<Response> user_redirect_other(Context& ctx) const {
    auto const& user = ctx.params[0];
    co_return not_running_json(ctx, user, "");
  }

  Response not_allowed(Caller const& c, std::string message) const {
    if (!c.via_cookie) return http::json_error(403, message);
    return page(403, "Not allowed", error_body(403, message, hub("home"), "Home"), c);
  }

  // JupyterHub's answer to an API request for a server that is not running: 424 and where to
  // start it.
  Response not_running_json(Context const& ctx, std::string const& user, std::string const& server) const {
    auto path = ctx.raw_target.substr(0, ctx.raw_target.find('?'));
    if (path.starts_with(hub())) path = path.substr(hub().size() - 1);  // from "/user/..."
    auto res = http::json_error(424, fmt::format("JupyterHub server no longer running at {}. Restart the server at {}://{}{}",
                                                 path, ctx.scheme(), ctx.host, spawn_url(user, server)));
    res.set("X-JupyterHub-Version", d.jupyterhub_version);
    return res;
  }

  // With named servers, /hub/user/alice/gpu/... is alice's server "gpu" when she has one.
  std::string server_in_path(std::string const& user, std::string const& rest) const {
    if (!d.cfg.load()->spawner_settings.allow_named_servers || rest.empty()) return "";
    auto first = rest.substr(0, rest.find('/'));
    auto views = d.servers.views_for(user);
    return !first.empty() && views.contains(first) ? first : std::string{};
  }

  static bool has_segment(std::string_view path, std::string_view seg) {
    for (auto s : http::split_path(path))
      if (s == seg) return true;
    return false;
  }

  // JupyterHub's get_accepted_mimetype(Accept, ["application/json", "text/html"]) ==
  // "application/json": of the two, JSON has the higher q (the earlier one on a tie).
  static bool prefers_json(std::string_view accept) {
    double json_q = -1, html_q = -1;
    int json_pos = -1, html_pos = -1, pos = 0;
    while (!accept.empty()) {
      auto item = accept.substr(0, accept.find(','));
      accept.remove_prefix(std::min(accept.size(), item.size() + 1));
      auto type = item.substr(0, item.find(';'));
      while (!type.empty() && type.front() == ' ') type.remove_prefix(1);
      while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
      double q = 1;
      if (auto at = item.find("q="); at != std::string_view::npos) {
        try { q = std::stod(std::string(item.substr(at + 2))); } catch (...) { q = 0; }
      }
      if (type == "application/json" && json_pos < 0) { json_q = q; json_pos = pos; }
      if (type == "text/html" && html_pos < 0) { html_q = q; html_pos = pos; }
      ++pos;
    }
    if (json_pos < 0 || json_q <= 0) return false;
    return html_pos < 0 || json_q > html_q || (json_q == html_q && json_pos < html_pos);
  }
};

template <auto Method>
http::Handler bind(std::shared_ptr<Pages const> p) {
  return [p](Context& ctx) -> net::awaitable<Response> { co_return co_await ((*p).*Method)(ctx); };
}

}  // namespace

void add_server_pages(http::Router& router, ServerRouteDeps const& deps) {
  // URLs sent out carry the encoded base_url ("/@/space%20word/").
  auto p = std::make_shared<Pages const>(Pages{deps, url_prefix(deps.cfg.load()->base_url)});
  auto h = route_prefix(deps.cfg.load()->base_url) + "hub/";  // the router sees decoded paths
  router.get(h + "home", bind<&Pages::home>(p));
  router.post(h + "home/stop", bind<&Pages::stop_from_home>(p));
  router.post(h + "home/named", bind<&Pages::start_named>(p));
  router.get(h + "spawn", bind<&Pages::spawn>(p));
  router.get(h + "spawn/{user}", bind<&Pages::spawn>(p));
  router.get(h + "spawn/{user}/{server}", bind<&Pages::spawn>(p));
  router.post(h + "spawn", bind<&Pages::spawn>(p));
  router.post(h + "spawn/{user}", bind<&Pages::spawn>(p));
  router.post(h + "spawn/{user}/{server}", bind<&Pages::spawn>(p));
  router.get(h + "spawn-pending/{user}", bind<&Pages::pending>(p));
  router.get(h + "spawn-pending/{user}/{server}", bind<&Pages::pending>(p));
  router.get(h + "user/{user}", bind<&Pages::user_redirect>(p));
  router.get(h + "user/{user}/*", bind<&Pages::user_redirect>(p));
  using http::bhttp::verb;
  for (auto method : {verb::post, verb::put, verb::patch, verb::delete_}) {
    router.add(method, h + "user/{user}", bind<&Pages::user_redirect_other>(p));
    router.add(method, h + "user/{user}/*", bind<&Pages::user_redirect_other>(p));
  }
  router.get(h + "static/spawn-pending.js", [](Context&) -> net::awaitable<Response> {
    auto res = http::text_response(200, std::string(kPendingScript), "text/javascript; charset=utf-8");
    res.set(http::bhttp::field::cache_control, "public, max-age=3600");
    co_return res;
  });
}

}  // namespace nbhub::web
