// The option table itself: every nbhub option, in the order of the generated nbhub.toml and
// docs/config.md. Add an option here (with a field in config.hpp) and it is loadable from
// TOML, NBHUB_* and the docs at once.
#include "config/options.hpp"

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
      {"hub_bind_url", {}, F::bind_url, {},
       "Where the hub API for single-user servers and services listens; `http://:8081` "
       "listens on all interfaces, as in JupyterHub.",
       HUB(hub_bind_url)},
      {"hub_connect_url", {}, F::url, {},
       "The hub API URL servers are told when they must reach it by another address "
       "(containers, pods); `\"\"` = `hub_bind_url`.",
       HUB(hub_connect_url)},
      {"db_url", {}, F::db_url, {},
       "Database: `sqlite:///PATH` (relative to the working directory), `sqlite://` (in memory) "
       "or `postgresql://user@host/db`.",
       HUB(db_url)},
      {"db_pool_size", {}, F::plain, {},
       "PostgreSQL: the most connections nbhub keeps to the database; a request finding all "
       "busy waits up to 5 s, then fails (see docs/postgresql.md).",
       HUB(db_pool_size)},
      {"hub_threads", {}, F::plain, {},
       "Threads running the hub's own work: pages, the REST API, sign-ins, spawner calls "
       "(database calls run on two threads of their own, proxied traffic on `proxy.threads`). "
       "More help only when hub requests keep a core busy: each one more adds wake-ups "
       "between threads (`bench/login/signin_cpu.py`). 0: the hub's work runs on the proxy's "
       "threads, the fewest wake-ups per hub request, but proxied traffic then waits behind "
       "it (0-256).",
       HUB(hub_threads)},
      {"replica_lease_seconds", {}, F::plain, {},
       "Replicas on PostgreSQL: how long a replica starting or stopping a server may go silent "
       "before another replica takes the server over (renewed every third of it; 3-3600; see "
       "docs/replicas.md).",
       HUB(replica_lease)},
      {"cookie_secret_file", {}, F::path, {},
       "File holding the key that signs and encrypts cookies (JupyterHub's "
       "`cookie_secret_file`).",
       HUB(cookie_secret_file)},
      {"data_dir", {}, F::path, {},
       "Directory for state files: the local spawner's user homes (`homes/`), a kubeconfig's "
       "CA (`kube/`).",
       HUB(data_dir)},
      {"trusted_proxies", {}, F::plain, {},
       "Peers (IP addresses or CIDR ranges) whose `X-Forwarded-Proto/Host/For` headers are "
       "believed.",
       HUB(trusted_proxies)},
      {"log_level", {}, F::log_level, {"trace", "debug", "info", "warn", "error", "critical", "off"},
       "Log level.", HUB(log_level)},
      {"log_format", {}, F::choice, {"text", "json"},
       "`text`, or `json`: one JSON object per line (`time`, `level`, `logger`, `message`; access "
       "lines add `request_id`, `method`, `path`, `status`, `duration_ms`, `remote`).",
       HUB(log_format)},
      {"access_log", {}, F::plain, {},
       "Log a line per request (the `access` logger); `false` turns it off.", HUB(access_log)},
      {"admin_access", {}, F::plain, {},
       "Let admins open other users' servers (JupyterHub's `admin_access`).", HUB(admin_access)},
      {"authenticate_prometheus", {}, F::plain, {},
       "`GET /hub/metrics` (Prometheus, docs/metrics.md) needs an API token or login with the "
       "`read:metrics` scope (JupyterHub's `authenticate_prometheus`); `false` opens it to anyone "
       "who reaches the port.",
       HUB(authenticate_prometheus)},
      {"ssl_cert", {}, F::path, {},
       "TLS certificate (PEM; the leaf first, then its intermediates) for the public listener, "
       "which then speaks https only (JupyterHub's `ssl_cert`). Renewed files are picked up "
       "without a restart (docs/tls.md).",
       HUB(ssl_cert)},
      {"ssl_key", {}, F::path, {}, "TLS private key (PEM, unencrypted) for the public listener.", HUB(ssl_key)},
      {"hsts_max_age_seconds", {}, F::plain, {},
       "With https (ssl_cert, or public_url behind a load balancer): send "
       "`Strict-Transport-Security: max-age=N` on the hub's responses; 0 = no header.",
       HUB(hsts_max_age)},
      {"redirect_port", {}, F::plain, {},
       "With ssl_cert or tls.acme: also listen on this plain-http port (same `ip`) and answer "
       "every request with a redirect to https; 0 = none.",
       HUB(redirect_port)},
      {"shutdown_on_logout", {}, F::plain, {},
       "Stop the user's servers when they log out.", HUB(shutdown_on_logout)},
      {"redirect_to_server", {}, F::plain, {},
       "After sign-in (and at `/hub/`), start the user's server and open it, as JupyterHub does; "
       "`false` shows the home page instead.",
       HUB(redirect_to_server)},
      {"default_url", {}, F::plain, {},
       "Where `/hub/` and a sign-in without `next` lead (JupyterHub's `default_url`), e.g. "
       "`/hub/home`; `\"\"` = as `redirect_to_server` says. A path on this hub.",
       HUB(default_url)},
      {"services", {}, F::json, {},
       "JupyterHub `services`, as an array of tables: `name`, `url`, `api_token`, `admin`, "
       "`oauth_*`, and for a service nbhub runs, `command`, `environment`, `cwd`, `user` "
       "(docs/operations.md).",
       HUB(services_json)},
      {"load_roles", {}, F::json, {},
       "JupyterHub `load_roles`, as an array of tables (kept for the roles feature).",
       HUB(load_roles_json)},
      {"extra_user_scopes", {}, F::plain, {},
       "Scopes added to the default `user` role without redefining it (JupyterHub 6.0's "
       "`extra_user_scopes`), e.g. `[\"read:users:name\", \"read:groups!group=class\"]`.",
       HUB(extra_user_scopes)},
      {"token_expires_in_max_seconds", {}, F::plain, {},
       "Longest lifetime of a token created through the API or the token page (JupyterHub 5.0's "
       "`token_expires_in_max_seconds`): longer requests are refused with 400 and requests "
       "without an expiry get this one. 0 = no limit. Tokens the hub issues to servers and "
       "services are not affected.",
       HUB(token_expires_in_max)},
      {"cors_allow_origins", {}, F::plain, {},
       "Origins (`https://app.example.org`) whose pages may call `/hub/api` from a browser: "
       "their requests and preflights (`OPTIONS`) get `Access-Control-Allow-Origin` and the "
       "other CORS headers; other origins get none. `[\"*\"]` allows any origin without "
       "credentials. JupyterHub sets this with `tornado_settings = {\"headers\": "
       "{\"Access-Control-Allow-Origin\": ...}}`; the root `/hub/api` always allows any origin, "
       "as JupyterHub 5.",
       HUB(cors_allow_origins)},
      {"jupyterhub_version", {}, F::plain, {},
       "JupyterHub version reported to servers and tools (`/hub/api/`).",
       HUB(jupyterhub_version)},
      {"logo_file", {}, F::path, {},
       "Image served at `<base_url>hub/logo` (the header of the hub's and the notebook's pages): "
       "`.svg`, `.png`, `.jpg`, `.gif`, `.ico` or `.webp`, read at startup; `\"\"` = nbhub's own "
       "mark (JupyterHub's `logo_file`).",
       HUB(logo_file)},
      // ---- [http]: the public listener -------------------------------------------------
      {"config_python", {}, F::choice, {"auto", "always", "never"},
       "How a `jupyterhub_config.py` is read: `auto` reads it as literals and runs it with "
       "Python (`python.executable`) when it has lines literals cannot express (loops, `if`, "
       "hooks); `always` runs it with Python; `never` reads literals only. Set it with "
       "`NBHUB_CONFIG_PYTHON` (a .py file cannot set nbhub options before it is read).",
       HUB(python.config_python)},
      {"python.executable", {}, F::plain, {},
       "The Python that evaluates `jupyterhub_config.py` and runs its hooks (the standard "
       "library only; nothing of JupyterHub is needed); found in `PATH` unless it holds a `/`.",
       HUB(python.executable)},
      {"python.eval_timeout_seconds", {}, F::plain, {},
       "Longest the one evaluation of `jupyterhub_config.py` at start-up may take.",
       HUB(python.eval_timeout)},
      {"python.hook_timeout_seconds", {}, F::plain, {},
       "Longest one hook call (`pre_spawn_hook` and `auth_state_hook` of a spawn together) may "
       "take; past it the spawn fails with a message.",
       HUB(python.hook_timeout)},
      {"python.max_output_bytes", {}, F::plain, {},
       "Largest JSON the Python side may answer with (the evaluated configuration, one hook "
       "answer).",
       HUB(python.max_output_bytes)},
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
      // ---- [spawner]: how user servers are started (JupyterHub's Spawner traits) ---------
      {"spawner.kind", {}, F::choice, {"local", "docker", "kubernetes"},
       "Which spawner starts user servers.", HUB(spawner)},
      {"spawner.cmd", {}, F::plain, {}, "Command that starts a single-user server.",
       HUB(spawner_settings.cmd)},
      {"spawner.args", {}, F::plain, {}, "Extra arguments for `cmd`.",
       HUB(spawner_settings.args)},
      {"spawner.environment", {}, F::plain, {},
       "Extra environment for servers; values may use `{username}`, `{servername}`.",
       HUB(spawner_settings.environment)},
      {"spawner.env_keep", {}, F::plain, {},
       "Variables of the hub's environment passed on to servers.",
       HUB(spawner_settings.env_keep)},
      {"spawner.notebook_dir", {}, F::path, {}, "Notebook directory of each server.",
       HUB(spawner_settings.notebook_dir)},
      {"spawner.default_url", {}, F::plain, {}, "URL a server opens on (`/lab`).",
       HUB(spawner_settings.default_url)},
      {"spawner.start_timeout_seconds", {}, F::plain, {},
       "How long a server may take to start.", HUB(spawner_settings.start_timeout)},
      {"spawner.slow_spawn_timeout_seconds", {}, F::plain, {},
       "How long a start through the REST API waits for the server: 201 when it is ready by "
       "then, else 202 (JupyterHub's `slow_spawn_timeout`).",
       HUB(spawner_settings.slow_spawn_timeout)},
      {"spawner.http_timeout_seconds", {}, F::plain, {},
       "How long a started server may take to answer HTTP.", HUB(spawner_settings.http_timeout)},
      {"spawner.poll_interval_seconds", {}, F::plain, {}, "How often servers are polled.",
       HUB(spawner_settings.poll_interval)},
      {"spawner.concurrent_spawn_limit", {}, F::plain, {},
       "Servers starting at once at most.", HUB(spawner_settings.concurrent_spawn_limit)},
      {"spawner.active_server_limit", {}, F::plain, {}, "Running servers at most; 0: no limit.",
       HUB(spawner_settings.active_server_limit)},
      {"spawner.local_start_limit", {}, F::plain, {},
       "Local spawner: servers starting at once on this machine; more wait their turn. "
       "0: twice the CPU cores.",
       HUB(spawner_settings.local_start_limit)},
      {"spawner.run_as_system_user", {}, F::plain, {},
       "Local spawner: run each server as the system user of the same name.",
       HUB(spawner_settings.run_as_system_user)},
      {"spawner.home_dir_template", {}, F::plain, {},
       "Local spawner without system users: each user's home (JupyterHub's "
       "`SimpleLocalProcessSpawner.home_dir_template`), made with mode 0700; it is the "
       "server's working directory, file-browser root (unless `notebook_dir` says otherwise) "
       "and `HOME`. `{username}` is the user name escaped to one path component (`jürgen` → "
       "`j%C3%BCrgen`); a relative path is under `data_dir`. A home or `notebook_dir` that "
       "would hold the hub's own files is refused. See docs/local-spawner.md.",
       HUB(spawner_settings.home_dir_template)},
      {"spawner.allow_root_servers", {}, F::plain, {},
       "Local spawner: let servers run as root when nbhub runs as root without "
       "`run_as_system_user` (development and test machines); otherwise such spawns are "
       "refused. `--allow-root` in `args` counts too, as in JupyterHub.",
       HUB(spawner_settings.allow_root_servers)},
      {"spawner.log_dir", {}, F::path, {}, "Local spawner: directory for server logs.",
       HUB(spawner_settings.log_dir)},
      {"spawner.ip", {}, F::plain, {},
       "Local spawner: the address servers bind to and are reached at (JupyterHub's "
       "`Spawner.ip`). `0.0.0.0` or `::` bind every interface and are reached over loopback. "
       "With replicas on several machines, give each replica its machine's address, so that "
       "every replica can route to the servers it starts (docs/replicas.md).",
       HUB(spawner_settings.ip)},
      {"spawner.allow_named_servers", {}, F::plain, {},
       "Let users run more than one named server.", HUB(spawner_settings.allow_named_servers)},
      {"spawner.named_server_limit_per_user", {}, F::plain, {},
       "Most named servers a user may run at once (JupyterHub's `named_server_limit_per_user`, "
       "z2jh's `hub.namedServerLimitPerUser`); a start beyond it is refused with 400. 0 = no "
       "limit.",
       HUB(spawner_settings.named_server_limit_per_user)},
      {"spawner.allow_existing_invalid_named_servers", {}, F::choice, {"allow-start", "allow-delete", "autorename"},
       "Named servers whose names JupyterHub 6.0 no longer accepts (not 1-30 lowercase letters, "
       "digits and single hyphens): `allow-start` lets them start (3.0/5.x clients keep their "
       "names); `allow-delete` and `autorename` refuse such starts with 400, so they can only be "
       "stopped and deleted. nbhub keeps no stopped server with such a name, so `autorename` "
       "has nothing to rename (JupyterHub renames only stopped servers).",
       HUB(spawner_settings.allow_existing_invalid_named_servers)},
      {"spawner.options", {}, F::plain, {},
       "Spawner traits imported from `jupyterhub_config.py` that have no option here "
       "(`\"DockerSpawner.image\" = \"...\"`), kept for the spawner.",
       HUB(spawner_options)},
      // ---- [proxy]: the built-in proxy ---------------------------------------------------
      {"proxy.connect_timeout_seconds", {}, F::plain, {}, "Connect timeout to user servers.",
       HUB(proxy.connect_timeout)},
      {"proxy.idle_timeout_seconds", {}, F::plain, {},
       "Idle timeout of proxied connections and WebSockets.", HUB(proxy.idle_timeout)},
      {"proxy.stall_timeout_seconds", {}, F::plain, {},
       "A proxied body (upload or download) that moves no byte for this long is cut: what "
       "bounds a client that stops reading (a slow reader) or sending.",
       HUB(proxy.stall_timeout)},
      {"proxy.buffer_bytes", {}, F::plain, {}, "Relay buffer per direction.",
       HUB(proxy.buffer_bytes)},
      {"proxy.threads", {}, F::plain, {},
       "Threads serving the public port: the proxy, and reading requests for the hub (which "
       "handles them on its own threads). One carries about 60,000 small requests/s; more "
       "help only with cores to spare.",
       HUB(proxy.threads)},
      {"proxy.busy_poll_microseconds", {}, F::plain, {},
       "With one proxy thread: how long at most it polls for the next event before it sleeps, "
       "grown and shrunk with the load (a quiet hub does not poll). Saves the wake-up latency of "
       "a virtual machine's halted CPU; 0: never poll.",
       HUB(proxy.busy_poll_microseconds)},
      {"proxy.chp_api_url", {}, F::url, {},
       "REST API of an external configurable-http-proxy to keep in step with nbhub's routes "
       "(`http://proxy-api:8001`; token from `CONFIGPROXY_AUTH_TOKEN`). Set by z2jh mode; "
       "`\"\"`: none.",
       HUB(proxy.chp_api_url)},
      {"proxy.chp_check_interval_seconds", {}, F::plain, {},
       "How often the external proxy's routes are reconciled and its `last_activity` read.",
       HUB(proxy.chp_check_interval)},
      // ---- [cull]: built-in idle culling (as jupyterhub-idle-culler) -------------------
      {"cull.enabled", {}, F::plain, {}, "Stop idle servers.", HUB(cull.enabled)},
      {"cull.timeout_seconds", {}, F::plain, {}, "Stop servers idle longer than this.",
       HUB(cull.timeout)},
      {"cull.every_seconds", {}, F::plain, {}, "How often to check.", HUB(cull.every)},
      {"cull.max_age_seconds", {}, F::plain, {},
       "Stop servers older than this even when active; 0: never.", HUB(cull.max_age)},
      {"cull.users", {}, F::plain, {},
       "Also delete users without a running server (never admins).", HUB(cull.users)},
      // ---- [managed_services] -----------------------------------------------------------
      {"managed_services.restart_delay_seconds", {}, F::plain, {},
       "A managed service (a `services` entry with a `command`) that exits is started again "
       "after this delay, doubled after each restart.",
       HUB(managed_services.restart_delay)},
      {"managed_services.restart_max_delay_seconds", {}, F::plain, {},
       "The longest delay between restarts; a service that ran this long restarts after "
       "`restart_delay_seconds` again.",
       HUB(managed_services.restart_max_delay)},
      {"managed_services.stop_timeout_seconds", {}, F::plain, {},
       "When the hub stops (or a reload drops a service): SIGTERM, then SIGKILL after this.",
       HUB(managed_services.stop_timeout)},
      {"managed_services.log_dir", {}, F::path, {},
       "Directory for managed services' output (`service-<name>.log`).",
       HUB(managed_services.log_dir)},
      // ---- [tls]: the public listener's certificate files and session tickets (docs/tls.md) ----
      {"tls.check_interval_seconds", {}, F::plain, {},
       "With ssl_cert: also check the certificate and key files this often, besides inotify "
       "events and SIGHUP (some file systems, e.g. network mounts, send no events); 1 to 3600.",
       HUB(tls.check_interval)},
      {"tls.ticket_key_rotation_seconds", {}, F::plain, {},
       "A new session-ticket key this often; the previous one still resumes sessions for as long "
       "again, so a ticket lives two rotations. 60 to 302400 (two rotations within TLS 1.3's "
       "7 days).",
       HUB(tls.ticket_key_rotation)},
      // ---- [tls.acme]: certificates from Let's Encrypt or another ACME CA (docs/acme.md) ----
      {"tls.acme.domains", {}, F::plain, {},
       "Names to get one certificate for (`[\"hub.example.org\"]`); ACME is on when this is not "
       "empty. Needs `NBHUB_CRYPT_KEY`: the account key and certificates are kept encrypted in the "
       "database.",
       HUB(acme.domains)},
      {"tls.acme.directory_url", {}, F::url, {},
       "The ACME server's directory (Let's Encrypt's staging: "
       "`https://acme-staging-v02.api.letsencrypt.org/directory`).",
       HUB(acme.directory_url)},
      {"tls.acme.contact_email", {}, F::plain, {},
       "Where the CA sends expiry and policy notices.", HUB(acme.contact_email)},
      {"tls.acme.accept_terms", {}, F::plain, {},
       "You agree to the CA's terms of service (required: `true`).", HUB(acme.accept_terms)},
      {"tls.acme.challenge", {}, F::choice, {"http-01", "tls-alpn-01"},
       "How the CA checks that you control the names: `http-01` (plain http on `http_port`, "
       "reached as port 80) or `tls-alpn-01` (on the https port, reached as 443).",
       HUB(acme.challenge)},
      {"tls.acme.http_port", {}, F::plain, {},
       "Port of the plain-http listener answering HTTP-01 challenges, on the address `ip`.",
       HUB(acme.http_port)},
      {"tls.acme.ca_file", {}, F::path, {},
       "CA certificates (PEM) to trust for the ACME server itself, e.g. a private CA or "
       "pebble's; `\"\"`: the system's.",
       HUB(acme.ca_file)},
      {"tls.acme.key_type", {}, F::choice, {"ec-p256", "rsa-2048"},
       "Key of each certificate (a fresh one per certificate).", HUB(acme.key_type)},
      {"tls.acme.renew_at_percent", {}, F::plain, {},
       "Renew when this share of the certificate's lifetime has passed; 10 to 95.",
       HUB(acme.renew_at_percent)},
      {"tls.acme.check_interval_seconds", {}, F::plain, {},
       "How often each hub checks its certificate, and looks in the database for one another "
       "hub renewed.",
       HUB(acme.check_interval)},
      {"tls.acme.retry_min_seconds", {}, F::plain, {},
       "First wait after a failed attempt; it doubles per failure.", HUB(acme.retry_min)},
      {"tls.acme.retry_max_seconds", {}, F::plain, {},
       "The longest wait between failed attempts.", HUB(acme.retry_max)},
      {"tls.acme.lease_seconds", {}, F::plain, {},
       "How long the hub renewing a certificate keeps the others from trying too (extended "
       "while it works); a hub that died frees it after this.",
       HUB(acme.lease)},
      {"tls.acme.order_timeout_seconds", {}, F::plain, {},
       "The most a validation or a finalization may take at the CA.", HUB(acme.order_timeout)},
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
      {"auth.jwks_refetch_interval_seconds", {}, F::plain, {},
       "Key rotation: a token signed with a key the cached JWKS lacks makes nbhub fetch the "
       "provider's JWKS again at once, but at most once per this interval per provider, so "
       "tokens with made-up key ids cannot flood it; 1 to 300.",
       HUB(auth.jwks_refetch_interval)},
      {"auth.refresh_margin_seconds", {}, F::plain, {},
       "Refresh a user's access token (with the refresh token) when it expires within this; "
       "see docs/tokens.md.",
       HUB(auth.refresh_margin)},
      {"auth.auth_refresh_age_seconds", {}, F::plain, {},
       "How often stored tokens about to expire are refreshed in the background; 0: only on "
       "demand (JupyterHub's `auth_refresh_age`).",
       HUB(auth.auth_refresh_age)},
      {"auth.refresh_pre_spawn", {}, F::plain, {},
       "Refresh the user's tokens before starting a server; the start fails when that is "
       "impossible (JupyterHub's `refresh_pre_spawn`).",
       HUB(auth.refresh_pre_spawn)},
      {"auth.access_token_env", {}, F::plain, {},
       "Name of an environment variable that receives the user's access token at spawn "
       "(`UPSTREAM_TOKEN` as Custos does); `\"\"` = none. A snapshot: use "
       "`/hub/api/user/oauth-token` for a token that stays valid.",
       HUB(auth.access_token_env)},
      {"auth.id_token_env", {}, F::plain, {},
       "Likewise for the ID token; `\"\"` = none.", HUB(auth.id_token_env)},
      // ---- [[auth.providers]]: one table per identity provider --------------------------
      {"name", P, F::name, {},
       "Id in URLs (`/hub/oauth_login?provider=NAME`) and environment variables; default: "
       "`kind`.",
       PROV(name)},
      {"kind", P, F::choice,
       {"generic", "oidc", "cognito", "custos", "cilogon", "dummy", "shared-password", "null"},
       "Preset that fills endpoints from a few settings; `dummy`, `shared-password` and `null` are "
       "JupyterHub's own authenticators (any username on a form; a form with one password for "
       "users and one for admins, for workshops; no sign-in, API tokens only).",
       PROV(kind)},
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
      {"allow_unverified_email", P, F::plain, {},
       "When `username_claim` is an e-mail address: also sign in users whose identity provider says "
       "`email_verified = false`. Off, such sign-ins are refused: anyone could claim someone else's "
       "address at a provider with self sign-up (OAuthenticator's CVE-2026-33175). Not advisable.",
       PROV(allow_unverified_email)},
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
      {"idps", P, F::json, {},
       "CILogon: the identity providers users may sign in through, one table each (`entity_id`, "
       "`username_derivation` = {`username_claim`, `action` = `strip_idp_domain`|`prefix`, `domain`, "
       "`prefix`}, `allow_all`, `allowed_domains`, `allowed_domains_claim`, `default`), as "
       "OAuthenticator's `idps`. A sign-in whose `idp` claim is not listed is refused; `[]` = any IdP "
       "(warned at start-up). See docs/migrating-from-jupyterhub.md, \"CILogon\".",
       PROV(idps_json)},
      {"password", P, F::plain, {},
       "Dummy: the password every user must give (compared in constant time); `\"\"` = any "
       "password. For tests only.",
       PROV(password), true},
      {"user_password", P, F::plain, {},
       "Shared-password: the password every user outside `auth.admin_users` gives (at least 8 "
       "characters; JupyterHub's `SharedPasswordAuthenticator.user_password`). Anyone who knows "
       "it can sign in as any allowed non-admin user. `\"\"` = only admins can sign in.",
       PROV(user_password), true},
      {"admin_password", P, F::plain, {},
       "Shared-password: the password the users in `auth.admin_users` must give (at least 32 "
       "characters, different from `user_password`); they become admins. `\"\"` = admins cannot "
       "sign in.",
       PROV(admin_password), true},
      {"bearer_tokens", P, F::plain, {},
       "Accept this provider's JWT access tokens as `Authorization: Bearer` at the hub REST "
       "API (validated locally with its JWKS); see docs/tokens.md.",
       PROV(bearer_tokens)},
      {"bearer_audiences", P, F::plain, {},
       "Bearer tokens must carry one of these `aud` values; `[]` = `client_id` unless "
       "`bearer_client_ids` is set.",
       PROV(bearer_audiences)},
      {"bearer_client_ids", P, F::plain, {},
       "Bearer tokens must carry one of these `client_id`s (Cognito access tokens have no "
       "`aud`; `token_use` must then be `access`).",
       PROV(bearer_client_ids)},
      {"bearer_algs", P, F::plain, {}, "Signature algorithms accepted for bearer tokens.",
       PROV(bearer_algs)},
      {"bearer_scopes", P, F::plain, {},
       "Token scope to the nbhub scopes it grants (space-separated): "
       "`{ \"nbhub/api\" = \"users:activity read:users\" }`.",
       PROV(bearer_scopes)},
      {"bearer_services", P, F::plain, {},
       "Client-credentials tokens: `client_id` to the service name they act as; tokens of "
       "other clients without a hub user are refused.",
       PROV(bearer_services)},
  };
  return t;
}

#undef HUB
#undef PROV

}  // namespace

std::span<const Option> options() {
  static const std::vector<Option> table = build_table();
  return table;
}

}  // namespace nbhub::config
