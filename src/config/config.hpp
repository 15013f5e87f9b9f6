#pragma once
// nbhub's configuration as plain structs, one per concern (STYLE.md §5: each component gets its
// slice). Every field here has an entry in the option table (config/options.cpp) that gives its
// TOML key, environment variable, default and documentation; `nbhub --generate-config` and
// docs/config.md are produced from that table.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/secret.hpp"

namespace nbhub::config {

using Seconds = std::chrono::seconds;

struct HttpLimits {
  std::size_t header_limit_bytes = 16 * 1024;
  std::size_t body_limit_bytes = 1024 * 1024;
  Seconds request_timeout{30};     // whole request head+body read deadline
  Seconds idle_timeout{60};        // keep-alive idle
  std::size_t max_connections = 10000;
};

struct HttpClientConfig {
  Seconds connect_timeout{5};
  Seconds request_timeout{15};
  std::string ca_file;             // extra CA bundle; default: system bundle
  bool tls_verify = true;
  std::size_t max_idle_per_host = 4;
  Seconds idle_timeout{30};
  std::size_t max_response_bytes = 4 * 1024 * 1024;
};

// How the client authenticates at the token endpoint.
enum class TokenAuth { client_secret_post, client_secret_basic, custos_bearer_pair };

// One identity provider. Presets (cognito, custos, cilogon, oidc) fill endpoint fields from
// a few inputs; see auth/providers.cpp. Three kinds are not identity providers but JupyterHub's
// own authenticators (auth/provider.hpp sign_in_of): dummy (a username/password form on the
// login page), shared-password (the same form with one password for users and another for
// admins: JupyterHub 5.3's SharedPasswordAuthenticator) and null (no sign-in at all: an
// API-only hub).
// One identity provider behind CILogon (OAuthenticator's CILogonOAuthenticator.idps, formerly
// allowed_idps): only users whose `idp` claim names a listed entity id sign in, with the
// username derived per IdP (auth/cilogon.hpp). Filled from `idps` by the cilogon preset.
struct CilogonIdp {
  std::string entity_id;
  std::string username_claim;  // claim (dotted path) giving the username for this IdP
  enum class Action { none, strip_idp_domain, prefix } action = Action::none;
  std::string domain;          // strip_idp_domain: "@domain" is cut off (case-insensitive)
  std::string prefix;          // prefix: the username becomes "prefix:name"
  bool allow_all = false;      // everyone signing in through this IdP is allowed
  std::vector<std::string> allowed_domains;  // lower-case fnmatch patterns
  std::string allowed_domains_claim;         // "" = the username claim's value
  bool is_default = false;     // pre-selected on CILogon's page
};

struct ProviderConfig {
  std::string name;            // id in URLs: /hub/oauth_login?provider=<name>
  std::string kind = "generic";  // generic | oidc | cognito | custos | cilogon | dummy | shared-password | null
  std::string login_service;   // button text: "Sign in with <login_service>"
  std::string client_id;
  Secret client_secret;
  std::string client_secret_file;  // read into client_secret at load; never both in one layer
  std::string oauth_callback_url;  // redirect_uri; default <public_url><base_url>hub/oauth_callback
  std::string authorize_url;
  std::string token_url;
  std::string userdata_url;
  std::string issuer;          // OIDC issuer: discovery and `iss` check
  std::string jwks_url;
  std::string end_session_url;  // RP-initiated logout endpoint
  std::string logout_redirect_url;  // static URL sent to after logout (OAuthenticator's option)
  bool idp_logout = false;     // end the IdP session on /hub/logout when an endpoint is known
  std::vector<std::string> scope;
  std::string username_claim = "username";  // dotted path into merged claims
  std::string groups_claim;    // dotted path; used when manage_groups
  TokenAuth token_auth = TokenAuth::client_secret_post;
  bool pkce = true;
  bool userdata_from_id_token = false;
  bool allow_unverified_email = false;  // see login_flow.cpp: email_verified
  std::map<std::string, std::string> extra_authorize_params;
  std::map<std::string, std::string> token_params;
  std::map<std::string, std::string> userdata_params;
  std::vector<std::string> id_token_algs{"RS256", "ES256", "PS256"};
  Seconds leeway{60};
  bool tls_verify = true;
  // presets
  std::string cognito_domain;  // <prefix>.auth.<region>.amazoncognito.com or a custom domain
  std::string cognito_region;
  std::string cognito_user_pool_id;
  std::string custos_host;
  std::string custos_iam_host;  // Keycloak host behind Custos
  std::string cilogon_host = "cilogon.org";
  std::string idps_json = "[]";  // CILogon: the `idps` array of tables, as JSON text
  std::vector<CilogonIdp> cilogon_idps;  // parsed from idps_json by the cilogon preset
  Secret password;  // dummy: the password every user must give; empty = any password
  // shared-password: what users outside auth.admin_users give (>= 8 characters), and what
  // admin_users must give (>= 32, different); empty: that group cannot sign in.
  Secret user_password;
  Secret admin_password;
  // Bearer JWT access tokens of this provider at the hub REST API (hub/bearer_auth.hpp).
  bool bearer_tokens = false;
  std::vector<std::string> bearer_audiences;   // accepted `aud` values (any of)
  std::vector<std::string> bearer_client_ids;  // accepted `client_id`s (Cognito has no aud)
  std::vector<std::string> bearer_algs{"RS256", "ES256", "PS256"};
  // Token scope -> nbhub scopes (space-separated) granted to a token carrying it.
  std::map<std::string, std::string> bearer_scopes;
  // client_id -> service name, for client-credentials tokens (no user).
  std::map<std::string, std::string> bearer_services;
};

struct AuthConfig {
  std::vector<ProviderConfig> providers;
  std::vector<std::string> allowed_users;
  std::vector<std::string> admin_users;
  std::vector<std::string> blocked_users;
  std::vector<std::string> allowed_groups;
  std::vector<std::string> admin_groups;
  bool allow_all = false;
  bool allow_existing_users = false;
  bool manage_groups = false;
  bool auto_login = false;
  bool enable_auth_state = false;
  std::map<std::string, std::string> username_map;
  std::string custom_403_message =
      "Sorry, you are not currently authorized to use this hub. Please contact the hub "
      "administrator.";
  Seconds cookie_max_age{14 * 24 * 3600};
  Seconds login_state_ttl{600};  // how long a started login may take at the IdP
  // Key rotation: a token signed with a kid the cached JWKS lacks refetches it, at most once
  // per this interval per JWKS URL (jwt/jwks_cache.hpp). 1-300 s.
  Seconds jwks_refetch_interval{5};
  // The IdP's tokens for users' code (issue 6; hub/token_refresher.hpp).
  Seconds refresh_margin{300};     // refresh when the access token expires within this
  Seconds auth_refresh_age{300};   // periodic refresh round; 0: off
  bool refresh_pre_spawn = false;  // refresh before each spawn; the spawn fails if it cannot
  std::string access_token_env;    // server env var for the access token at spawn; "" = none
  std::string id_token_env;        // likewise for the ID token
};

// The local spawner and what every spawner shares (JupyterHub's Spawner traits).
struct SpawnerSettings {
  std::vector<std::string> cmd{"jupyterhub-singleuser"};
  std::vector<std::string> args;
  std::map<std::string, std::string> environment;  // values may use {username}, {servername}
  std::vector<std::string> env_keep{"PATH", "PYTHONPATH", "CONDA_ROOT", "CONDA_DEFAULT_ENV",
                                    "VIRTUAL_ENV", "LANG", "LC_ALL", "JUPYTERHUB_SINGLEUSER_APP"};
  std::string notebook_dir;
  std::string default_url;   // e.g. "/lab"
  Seconds start_timeout{60};
  // How long a start through the REST API waits for the server before it answers 202
  // (JupyterHub's slow_spawn_timeout): 201 means the server is ready for use.
  Seconds slow_spawn_timeout{10};
  Seconds http_timeout{30};
  Seconds poll_interval{30};
  std::size_t concurrent_spawn_limit = 100;
  std::size_t active_server_limit = 0;  // 0: no limit
  std::size_t local_start_limit = 0;    // 0: twice the CPU cores
  bool run_as_system_user = false;
  std::string home_dir_template = "homes/{username}";  // relative: under data_dir
  bool allow_root_servers = false;
  std::string log_dir = "server-logs";
  // Local spawner: the address servers bind to and are reached at (JupyterHub's Spawner.ip).
  std::string ip = "127.0.0.1";
  bool allow_named_servers = false;
  // Most named servers a user may have at once (JupyterHub's named_server_limit_per_user);
  // 0: no limit.
  std::size_t named_server_limit_per_user = 0;
  // JupyterHub 6.0's allow_existing_invalid_named_servers: "allow-start" lets named servers
  // whose names are not strict (server_names.hpp) start; "allow-delete" and "autorename" do not.
  std::string allow_existing_invalid_named_servers = "allow-start";
};

// The built-in proxy's limits.
struct ProxySettings {
  Seconds connect_timeout{5};
  Seconds idle_timeout{3600};  // idle websocket / keep-alive
  // A proxied body read or write without progress for this long ends the exchange: what
  // bounds a slow reader (proxy::ProxyConfig::stall_timeout; nbhub proxy's --timeout).
  Seconds stall_timeout{300};
  std::size_t buffer_bytes = 64 * 1024;
  // Threads serving the public port (proxied traffic; hub pages and API requests are read
  // there and handled on the hub's own threads). One is fastest up to what a core carries.
  std::size_t threads = 1;
  // With one thread: how long at most it polls for the next event before it sleeps (adapted
  // to the load, http/io_loop.hpp); zero: never.
  std::size_t busy_poll_microseconds = 50;
  // An external configurable-http-proxy whose REST API nbhub keeps in step with its own route
  // table (z2jh mode: the chart's `proxy-api` Service); "" = none. Token: CONFIGPROXY_AUTH_TOKEN.
  std::string chp_api_url;
  Seconds chp_check_interval{60};  // full reconcile and last_activity read (JupyterHub: 60 s)
};

// Built-in idle culling (what jupyterhub-idle-culler does as a service).
struct CullSettings {
  bool enabled = false;
  Seconds timeout{3600};   // stop servers idle longer than this
  Seconds every{600};      // how often to check
  Seconds max_age{0};      // stop servers older than this even when active; 0: never
  bool users = false;      // also delete users with no running server (not admins)
};

// Services nbhub runs itself (`services` entries with a `command`; hub/service_supervisor.hpp).
struct ManagedServiceSettings {
  Seconds restart_delay{1};       // before the first restart; doubles after each one
  Seconds restart_max_delay{60};  // the longest delay; a run this long resets it
  Seconds stop_timeout{10};       // SIGTERM, then SIGKILL after this
  std::string log_dir = "service-logs";
};

// [tls.acme]: certificates from an ACME CA (Let's Encrypt) for the public listener
// (acme/acme_manager.hpp). On when `domains` is not empty.
struct AcmeSettings {
  std::string directory_url = "https://acme-v02.api.letsencrypt.org/directory";
  std::string contact_email;
  std::vector<std::string> domains;
  bool accept_terms = false;
  std::string challenge = "http-01";  // http-01 | tls-alpn-01
  std::uint16_t http_port = 80;       // the HTTP-01 answers' plain-http port
  std::string ca_file;                // trust this CA for the ACME server (a private CA, pebble)
  std::string key_type = "ec-p256";   // ec-p256 | rsa-2048: the certificate's key
  std::size_t renew_at_percent = 66;  // of the lifetime
  Seconds check_interval{60};
  Seconds retry_min{60};
  Seconds retry_max{3600};
  Seconds lease{600};
  Seconds order_timeout{300};
  bool enabled() const { return !domains.empty(); }
};

// [tls] (docs/tls.md): how the public listener keeps its certificate and session tickets.
struct TlsSettings {
  // ssl_cert/ssl_key are checked this often besides inotify events and SIGHUP (file systems
  // such as network mounts send no events). 1 to 3600.
  Seconds check_interval{10};
  // A session-ticket key encrypts tickets this long, then only decrypts them for as long
  // again (a ticket is accepted for two rotations). 60 to 302400, so that two rotations stay
  // within TLS 1.3's 7-day ticket limit.
  Seconds ticket_key_rotation{3600};
};

// jupyterhub_config.py run by Python (config/pyeval.hpp) and the hook helper
// (hub/python_hooks.hpp).
struct PythonSettings {
  std::string config_python = "auto";  // auto | always | never
  std::string executable = "python3";  // looked up in PATH unless it holds a '/'
  Seconds eval_timeout{20};            // the one run at start-up
  Seconds hook_timeout{10};            // each hook call
  std::size_t max_output_bytes = 4u << 20;  // the evaluation's JSON, and each hook answer
  // Set by the importer, not options: the file Python evaluated ("" = literal importer), and
  // the hook traits it gave callables for ("Spawner.pre_spawn_hook"), which the helper calls.
  std::string evaluated_file;
  std::vector<std::string> hooks;
  // The runtime's first line for the hook helper: the same pieces, values and timeout as the
  // evaluation (z2jh values may hold secrets: never logged, not an option).
  std::string helper_context;
  std::vector<std::string> spawner_sections;  // the spawner class's config sections, base first
  std::vector<std::string> authenticator_sections;  // the same for authenticator_class
};

struct HubConfig {
  std::string ip;               // public listener address; "" = all interfaces
  std::uint16_t port = 8000;
  std::string base_url = "/";   // always starts and ends with '/'
  std::string public_url;       // e.g. https://hub.example.org (behind a TLS load balancer)
  std::string hub_bind_url = "http://127.0.0.1:8081";
  std::string hub_connect_url;
  std::string db_url = "sqlite:///nbhub.sqlite";
  std::size_t db_pool_size = 4;  // PostgreSQL: most connections the store keeps open
  // Threads running the hub's own work (pages, REST API, sign-in protocol, spawner calls).
  // One by default: hub work is protocol code between awaits (blocking store calls run on
  // their own pool), and with two, each completion woke the other thread for nothing.
  // 0: on the proxy's threads (no hop between threads per hub request).
  std::size_t hub_threads = 1;
  Seconds replica_lease{30};     // a server transition's lease (hub/servers.hpp)
  std::string cookie_secret_file = "nbhub_cookie_secret";
  std::string data_dir = ".";
  std::vector<std::string> trusted_proxies;  // peers whose X-Forwarded-* we believe
  std::string log_level = "info";
  std::string log_format = "text";  // text | json (one object per line)
  bool access_log = true;           // a line per request on the public and hub API ports
  bool admin_access = false;
  // GET /hub/metrics needs a token or cookie with read:metrics (JupyterHub's
  // authenticate_prometheus); false opens it to anyone who reaches the port.
  bool authenticate_prometheus = true;
  std::string ssl_cert;  // PEM certificate (chain) for the public listener: https when set
  std::string ssl_key;
  std::chrono::seconds hsts_max_age{0};  // Strict-Transport-Security on https responses; 0: none
  std::uint16_t redirect_port = 0;       // a plain-http port that redirects to https; 0: none
  std::string spawner = "local";  // local | docker | kubernetes (see the spawner issue)
  std::map<std::string, std::string> spawner_options;  // imported spawner traits, kept for later
  bool shutdown_on_logout = false;  // stop the user's servers when they log out
  // After sign-in, and at /hub/ for a signed-in user: start and open their server (true, as
  // JupyterHub) or show /hub/home.
  bool redirect_to_server = true;
  std::string default_url;  // JupyterHub.default_url: where /hub/ and sign-in without `next` go
  // JupyterHub's `services` and `load_roles`, kept as JSON text (an array) until the services
  // and roles issues read them.
  std::string services_json = "[]";
  std::string load_roles_json = "[]";
  // JupyterHub 6.0's extra_user_scopes: scopes added to the default `user` role without
  // redefining it ("read:users:name", "read:groups!group=class").
  std::vector<std::string> extra_user_scopes;
  // JupyterHub 5.0's token_expires_in_max_seconds: the longest lifetime a token requested
  // through the API or the token page may have; a request without expiry gets this one. 0: none.
  Seconds token_expires_in_max{0};
  // Origins (scheme://host[:port]) whose pages may call /hub/api from the browser (CORS); "*"
  // any origin, without credentials. Empty: no CORS headers, as JupyterHub without
  // tornado_settings headers (its 5.0 root endpoint /hub/api answers any origin: so does ours).
  std::vector<std::string> cors_allow_origins;
  std::string jupyterhub_version = "3.0.0";  // reported to servers and tools (/hub/api/)
  std::string logo_file;  // image served at <base_url>hub/logo; "" = nbhub's own mark
  SpawnerSettings spawner_settings;
  ProxySettings proxy;
  CullSettings cull;
  ManagedServiceSettings managed_services;
  TlsSettings tls;    // [tls]: certificate files and session tickets of the public listener
  AcmeSettings acme;  // [tls.acme]
  HttpLimits http;
  HttpClientConfig http_client;
  AuthConfig auth;
  PythonSettings python;
};

}  // namespace nbhub::config
