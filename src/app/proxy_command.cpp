#include "app/proxy_command.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include "app/logging.hpp"
#include "app/public_tls.hpp"
#include "core/clock.hpp"
#include "http/client_impl.hpp"
#include "http/io_loop.hpp"
#include "http/listener.hpp"
#include "http/router.hpp"
#include "proxy/proxy.hpp"
#include "proxy/route_table.hpp"
#include "proxy/routes_api.hpp"

namespace nbhub::app {

namespace net = boost::asio;
using std::chrono::milliseconds;

namespace {

struct ProxyFlags {
  std::string ip;  // CHP: all interfaces
  int port = 8000;
  std::string api_ip = "localhost";
  int api_port = 0;  // CHP: port + 1
  std::string default_target, error_target, log_level = "info", pid_file;
  std::vector<std::string> custom_headers;
  long timeout_ms = 0, proxy_timeout_ms = 0, keep_alive_timeout_ms = 5000;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  long busy_poll_us = 50;  // as the hub's proxy.busy_poll_microseconds
  bool request_ids = false;  // as the hub's proxy: X-Request-Id to the upstream and the client
  // The listener's bounds (the hub's http.* options; config::HttpLimits has the defaults):
  // without them `nbhub proxy` could not be given more than 10,000 connections, nor a
  // shorter deadline for slowloris heads.
  std::size_t max_connections = config::HttpLimits{}.max_connections;
  std::size_t header_limit_bytes = config::HttpLimits{}.header_limit_bytes;
  long request_timeout_ms = config::HttpLimits{}.request_timeout.count() * 1000;
  std::string ssl_cert, ssl_key;  // https on the public port, renewed without restart (docs/tls.md)
  int redirect_port = 0, redirect_to = 0;  // CHP: a plain-http port redirecting to https (on redirect_to)
  // The hub's [tls] check_interval_seconds and ticket_key_rotation_seconds (defaults from there).
  long ssl_check_interval_s = PublicTlsOptions{}.check_interval.count();
  long ssl_ticket_key_rotation_s = PublicTlsOptions{}.ticket_key_rotation.count();
  bool no_x_forward = false, no_prepend_path = false, no_include_prefix = false;
  // Accepted for compatibility; see describe().
  std::vector<std::string> refused, ignored;
};

// CHP's flags (bin/configurable-http-proxy). TLS towards the API and upstreams, client
// certificates, host routing and storage backends are not implemented: they are refused
// rather than ignored, because running without them would silently change what the proxy
// exposes.
void describe(CLI::App& app, ProxyFlags& f) {
  app.set_help_flag("-h,--help", "Show this help and exit");
  app.add_option("--ip", f.ip, "Public-facing IP of the proxy (default: all interfaces)");
  app.add_option("--port", f.port, "Public-facing port of the proxy (default 8000)");
  app.add_option("--api-ip", f.api_ip, "Inward-facing IP for API requests (default localhost)");
  app.add_option("--api-port", f.api_port, "Inward-facing port for API requests (default: port + 1)");
  app.add_option("--default-target", f.default_target, "Default proxy target (proto://host[:port])");
  app.add_option("--error-target", f.error_target,
                 "Alternate server for error pages: GET <target>/<code>?url=<path>");
  app.add_option("--log-level", f.log_level, "Log level (debug, info, warn, error)");
  app.add_option("--pid-file", f.pid_file, "Write our PID to a file");
  app.add_option("--custom-header", f.custom_headers, "Header added to proxied requests, \"Name: value\"");
  app.add_option("--timeout", f.timeout_ms, "Stall timeout (ms) for proxied requests");
  app.add_option("--proxy-timeout", f.proxy_timeout_ms, "Timeout (ms) for the upstream's response head");
  app.add_option("--keep-alive-timeout", f.keep_alive_timeout_ms,
                 "Idle timeout (ms) for client keep-alive connections (default 5000)");
  app.add_flag("--no-x-forward", f.no_x_forward, "Don't add 'X-Forward-' headers to proxied requests");
  app.add_flag("--no-prepend-path", f.no_prepend_path, "Avoid prepending target paths to proxied requests");
  app.add_flag("--no-include-prefix", f.no_include_prefix,
               "Don't include the routing prefix in proxied requests");
  app.add_option("--threads", f.threads, "nbhub: I/O threads (default: one per core)");
  app.add_option("--busy-poll-us", f.busy_poll_us,
                 "nbhub: with --threads 1, poll up to this long (adaptively) before sleeping; 0: never "
                 "(default 50)")
      ->check(CLI::Range(0, 10000));
  app.add_flag("--request-ids", f.request_ids,
               "nbhub: give each request an id, as the hub's proxy does: X-Request-Id to the upstream and "
               "in the response (CHP leaves it alone, the default)");
  app.add_option("--max-connections", f.max_connections,
                 "nbhub: open client connections at most; more are closed at accept (default 10000, as the "
                 "hub's http.max_connections)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24));
  app.add_option("--header-limit", f.header_limit_bytes,
                 "nbhub: largest request head in bytes; a longer one is answered 431 (default 16384, as the "
                 "hub's http.header_limit_bytes)")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 24));
  app.add_option("--request-timeout", f.request_timeout_ms,
                 "nbhub: deadline (ms) for a request head from its first byte: slow heads (slowloris) are "
                 "closed after it (default 30000, as the hub's http.request_timeout_seconds)")
      ->check(CLI::Range(1000L, 86'400'000L));  // HttpLimits counts whole seconds
  app.add_option("--ssl-cert", f.ssl_cert, "SSL certificate (chain) file: the public port speaks https")
      ->type_name("FILE");
  app.add_option("--ssl-key", f.ssl_key, "SSL key file (with --ssl-cert)")->type_name("FILE");
  app.add_option("--redirect-port", f.redirect_port, "Redirect HTTP requests on this port to the https port")
      ->check(CLI::Range(1, 65535));
  app.add_option("--redirect-to", f.redirect_to, "Redirect HTTP requests to this port (default: --port)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--ssl-check-interval", f.ssl_check_interval_s,
                 "nbhub: with --ssl-cert, also read the certificate and key files again this often (seconds), "
                 "besides file events and SIGHUP (default 10, as the hub's tls.check_interval_seconds)")
      ->check(CLI::Range(1L, 3600L));
  app.add_option("--ssl-ticket-key-rotation", f.ssl_ticket_key_rotation_s,
                 "nbhub: a new TLS session-ticket key this often (seconds); the previous one still resumes "
                 "sessions as long again (default 3600, as the hub's tls.ticket_key_rotation_seconds)")
      ->check(CLI::Range(60L, 302400L));
  for (auto name :
       {"--ssl-ca", "--ssl-dhparam", "--api-ssl-key", "--api-ssl-cert",
        "--api-ssl-ca", "--client-ssl-key", "--client-ssl-cert", "--client-ssl-ca", "--storage-backend"}) {
    app.add_option_function<std::string>(
        name, [&f, name](std::string const&) { f.refused.push_back(name); },
        "not supported by nbhub proxy (refused)");
  }
  app.add_flag_callback(
      "--host-routing", [&f] { f.refused.push_back("--host-routing"); },
      "not supported by nbhub proxy (refused)");
  for (auto name : {"--error-path", "--protocol-rewrite", "--metrics-ip",
                    "--metrics-port", "--ssl-protocol", "--ssl-ciphers"}) {
    app.add_option_function<std::string>(
        name, [&f, name](std::string const&) { f.ignored.push_back(name); }, "accepted and ignored");
  }
  for (auto name :
       {"--auto-rewrite", "--change-origin", "--insecure", "--ssl-request-cert", "--ssl-reject-unauthorized",
        "--ssl-allow-rc4", "--api-ssl-request-cert", "--api-ssl-reject-unauthorized",
        "--client-ssl-request-cert", "--client-ssl-reject-unauthorized", "--no-log"}) {
    app.add_flag_callback(
        name, [&f, name] { f.ignored.push_back(name); }, "accepted and ignored");
  }
}

std::pair<std::string, std::string> split_header(std::string const& h) {
  auto colon = h.find(':');
  if (colon == std::string::npos) return {h, ""};
  auto value = h.substr(colon + 1);
  value.erase(0, value.find_first_not_of(' '));
  return {h.substr(0, colon), value};
}

// CHP's --error-target: error pages come from another server (JupyterHub's /hub/error), as
// GET <base>/<status>?url=<the request's target>. Nothing when that server fails too.
net::awaitable<std::optional<http::Response>> fetch_error_page(http::HttpClient& client, std::string base,
                                                               unsigned status, std::string target,
                                                               std::string accept) {
  http::ClientRequest req;
  req.url = fmt::format("{}/{}?url={}", base, status, boost::urls::encode(target, boost::urls::unreserved_chars));
  req.headers.emplace_back("Accept", std::move(accept));
  auto got = co_await client.send(std::move(req));
  if (!got) co_return std::nullopt;
  http::Response res{static_cast<http::bhttp::status>(status), 11};
  auto type = got->header("content-type");
  res.set(http::bhttp::field::content_type, type.empty() ? "text/html" : type);
  res.body() = std::move(got->body);
  co_return res;
}

std::string without_trailing_slashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

proxy::ErrorResponder error_target_responder(http::HttpClient& client, std::string base) {
  return [&client, base = without_trailing_slashes(std::move(base))](
             proxy::UpstreamError e) -> net::awaitable<http::Response> {
    auto page = co_await fetch_error_page(client, base, e.status, std::string(e.request.target()),
                                          std::string(e.request[http::bhttp::field::accept]));
    co_return page ? std::move(*page) : proxy::Proxy::default_error_response(e);
  };
}

// A request no route matches: 404, from the error target when there is one (as CHP).
http::Handler not_found_handler(http::HttpClient& client, std::string error_target) {
  return [&client, base = without_trailing_slashes(std::move(error_target))](
             http::Context& ctx) -> net::awaitable<http::Response> {
    if (!base.empty()) {
      auto page = co_await fetch_error_page(client, base, 404, ctx.raw_target, ctx.header("accept"));
      if (page) co_return std::move(*page);
    }
    co_return http::json_error(404, "No route for this path.");
  };
}

}  // namespace

int run_proxy_command(std::vector<std::string> const& args) {
  CLI::App app{"nbhub proxy: the built-in proxy, configurable-http-proxy compatible", "nbhub proxy"};
  ProxyFlags f;
  describe(app, f);
  std::vector<char const*> argv{"nbhub proxy"};
  for (auto const& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (CLI::ParseError const& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!f.refused.empty()) {
    std::cerr << "nbhub proxy: " << f.refused.front()
              << " is not supported: nbhub proxy serves https with --ssl-cert/--ssl-key only, and "
                 "path routing with the in-memory route table\n";
    return 2;
  }
  if (f.ssl_cert.empty() != f.ssl_key.empty()) {
    std::cerr << "nbhub proxy: --ssl-cert and --ssl-key go together\n";
    return 2;
  }
  if (f.redirect_port != 0 && f.ssl_cert.empty()) {
    std::cerr << "nbhub proxy: --redirect-port redirects to https, which needs --ssl-cert and --ssl-key\n";
    return 2;
  }
  if (f.api_port == 0) f.api_port = f.port == 0 ? 0 : f.port + 1;
  bool stopped_by_signal = false;

  auto logs = make_loggers(f.log_level);
  auto& log = *logs.hub;
  for (auto const& name : f.ignored) log.warn("{} is accepted for compatibility and ignored", name);

  proxy::ProxyConfig cfg;
  cfg.claim_default_route = true;  // CHP proxies everything it has a route for
  cfg.unclaimed_paths = {"/_chp_healthz"};
  cfg.x_forward = !f.no_x_forward;
  cfg.forwarded = proxy::ProxyConfig::Forwarded::appended;  // as CHP: the hub behind decides whom to trust
  cfg.prepend_path = !f.no_prepend_path;
  cfg.include_prefix = !f.no_include_prefix;
  if (f.timeout_ms > 0) cfg.stall_timeout = milliseconds(f.timeout_ms);
  if (f.proxy_timeout_ms > 0) cfg.response_header_timeout = milliseconds(f.proxy_timeout_ms);
  for (auto const& h : f.custom_headers) cfg.custom_headers.push_back(split_header(h));

  auto token = std::getenv("CONFIGPROXY_AUTH_TOKEN");
  Secret secret{token ? std::string(token) : std::string()};
  if (secret.empty()) log.warn("REST API is not authenticated (CONFIGPROXY_AUTH_TOKEN is not set)");

  try {
    net::io_context ioc(http::io_concurrency_hint(f.threads));
    SystemClock clock;
    proxy::RouteTable routes(clock);
    if (!f.default_target.empty()) {
      auto added = routes.add("/", f.default_target, {});
      if (!added) {
        std::cerr << "nbhub proxy: --default-target: " << added.error().message << "\n";
        return 2;
      }
    }
    proxy::Proxy proxy(ioc.get_executor(), cfg, routes, clock, *logs.access, log);
    std::unique_ptr<PublicTls> public_tls;
    if (!f.ssl_cert.empty()) {
      PublicTlsOptions tls_opts{.check_interval = std::chrono::seconds(f.ssl_check_interval_s),
                                .ticket_key_rotation = std::chrono::seconds(f.ssl_ticket_key_rotation_s)};
      auto loaded = PublicTls::load(ioc, f.ssl_cert, f.ssl_key, log, tls_opts);
      if (!loaded) {
        std::cerr << "nbhub proxy: " << loaded.error().message << "\n";
        return 2;
      }
      public_tls = std::move(*loaded);
    }
    config::HttpClientConfig client_cfg;
    http::BeastHttpClient client(ioc, client_cfg, log);
    if (!f.error_target.empty()) proxy.set_error_responder(error_target_responder(client, f.error_target));

    http::Router public_router;
    public_router.get("/_chp_healthz", [](http::Context&) -> net::awaitable<http::Response> {
      co_return http::json_response(200, R"({"status": "OK"})");
    });
    public_router.fallback(not_found_handler(client, f.error_target));
    http::Router api_router;
    proxy::RoutesApi api(routes, secret, log);
    api.install(api_router);

    config::HttpLimits limits;
    limits.max_connections = f.max_connections;
    limits.header_limit_bytes = f.header_limit_bytes;
    limits.request_timeout = std::chrono::duration_cast<std::chrono::seconds>(milliseconds(f.request_timeout_ms));
    limits.idle_timeout = std::chrono::duration_cast<std::chrono::seconds>(
        milliseconds(std::max(1000L, f.keep_alive_timeout_ms)));
    http::ListenerOptions public_opts{
        .limits = limits, .name = "proxy", .tls = public_tls ? &public_tls->server() : nullptr,
        .interceptor = &proxy, .single_thread = f.threads == 1, .request_ids = f.request_ids};
    http::ListenerOptions api_opts{.limits = config::HttpLimits{}, .name = "proxy API"};
    auto public_listener =
        std::make_shared<http::Listener>(ioc, public_router, public_opts, *logs.access, log);
    auto api_listener = std::make_shared<http::Listener>(ioc, api_router, api_opts, *logs.access, log);
    public_listener->bind(f.ip, static_cast<std::uint16_t>(f.port));
    api_listener->bind(f.api_ip == "localhost" ? "127.0.0.1" : f.api_ip,
                       static_cast<std::uint16_t>(f.api_port));
    public_listener->start();
    api_listener->start();
    if (public_tls)
      public_tls->start(f.ip, static_cast<std::uint16_t>(f.redirect_port),
                        static_cast<std::uint16_t>(f.redirect_to ? f.redirect_to : public_listener->port()), "",
                        *logs.access);
    log.info(
        "Proxying {}://{}:{} with {}", public_tls ? "https" : "http", f.ip.empty() ? "*" : f.ip, public_listener->port(),
        f.default_target.empty() ? std::string("no default target") : "default target " + f.default_target);
    log.info("Proxy API at http://{}:{}/api/routes", f.api_ip, api_listener->port());
    if (!f.pid_file.empty()) std::ofstream(f.pid_file) << ::getpid() << "\n";

    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      stopped_by_signal = true;
      log.info("Received signal {}, stopping", sig);
      public_listener->stop();
      api_listener->stop();
      if (public_tls) public_tls->stop();
      ioc.stop();  // connections in flight are cut: CHP exits the same way
    });
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < f.threads; ++i) threads.emplace_back([&] { ioc.run(); });
    // A single thread polls briefly before it sleeps (http/io_loop.hpp); several just run.
    http::run_io_context(ioc, f.threads == 1 ? std::chrono::microseconds(f.busy_poll_us)
                                             : std::chrono::microseconds::zero());
    for (auto& t : threads) t.join();
  } catch (std::exception const& e) {
    std::cerr << "nbhub proxy: " << e.what() << "\n";
    return 1;
  }
  // configurable-http-proxy exits with 2 on SIGINT and SIGTERM; whatever supervises it (a
  // JupyterHub, a container runtime) sees the same code from nbhub proxy.
  return stopped_by_signal ? 2 : 0;
}

}  // namespace nbhub::app
