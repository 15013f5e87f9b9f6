#include "config/pyconfig_tables.hpp"

#include <algorithm>
#include <map>
#include <string>

namespace nbhub::config::py {

std::span<const ClassInfo> known_classes() {
  static const std::vector<ClassInfo> classes = {
      {"GenericOAuthenticator", Role::authenticator, "generic",
       {"oauthenticator.generic.GenericOAuthenticator", "oauthenticator.GenericOAuthenticator",
        "generic-oauth", "generic"},
       {"Authenticator", "OAuthenticator", "GenericOAuthenticator"}, "oauth_user"},
      {"CustosOAuthenticator", Role::authenticator, "custos",
       {"custosauthenticator.custos.CustosOAuthenticator", "custos"},
       {"Authenticator", "OAuthenticator", "CustosOAuthenticator"}, "custos_user"},
      {"CILogonOAuthenticator", Role::authenticator, "cilogon",
       {"oauthenticator.cilogon.CILogonOAuthenticator", "oauthenticator.CILogonOAuthenticator",
        "cilogon"},
       {"Authenticator", "OAuthenticator", "CILogonOAuthenticator"}, "cilogon_user"},
      // JupyterHub's own test authenticators, by their entry-point names (3.0 and 5.x).
      {"DummyAuthenticator", Role::authenticator, "dummy",
       {"jupyterhub.auth.DummyAuthenticator", "dummy"},
       {"Authenticator", "DummyAuthenticator"}, ""},
      {"SharedPasswordAuthenticator", Role::authenticator, "shared-password",
       {"jupyterhub.authenticators.shared.SharedPasswordAuthenticator", "shared-password"},
       {"Authenticator", "SharedPasswordAuthenticator"}, ""},
      {"NullAuthenticator", Role::authenticator, "null",
       {"jupyterhub.auth.NullAuthenticator", "null"},
       {"Authenticator", "NullAuthenticator"}, ""},
      {"LocalProcessSpawner", Role::spawner, "local",
       {"jupyterhub.spawner.LocalProcessSpawner", "localprocess", "default"},
       {"Spawner", "LocalProcessSpawner"}, ""},
      {"SimpleLocalProcessSpawner", Role::spawner, "local",
       {"jupyterhub.spawner.SimpleLocalProcessSpawner", "simple"},
       {"Spawner", "LocalProcessSpawner", "SimpleLocalProcessSpawner"}, ""},
      {"DockerSpawner", Role::spawner, "docker",
       {"dockerspawner.DockerSpawner", "dockerspawner.dockerspawner.DockerSpawner", "docker"},
       {"Spawner", "DockerSpawner"}, ""},
      {"KubeSpawner", Role::spawner, "kubernetes",
       {"kubespawner.KubeSpawner", "kubespawner.spawner.KubeSpawner", "kubespawner",
        "kubernetes"},
       {"Spawner", "KubeSpawner"}, ""},
  };
  return classes;
}

ClassInfo const* find_class(std::string_view s, Role role) {
  for (auto const& c : known_classes()) {
    if (c.role != role) continue;
    if (s == c.name) return &c;
    for (auto a : c.aliases)
      if (s == a) return &c;
  }
  return nullptr;
}

std::span<const TraitInfo> known_traits() {
  using S = Special;
  static const std::vector<TraitInfo> traits = {
      // ---- JupyterHub --------------------------------------------------------------------
      {"JupyterHub", "ip", "ip"},
      {"JupyterHub", "port", "port"},
      {"JupyterHub", "bind_url", "ip, port, base_url", S::bind_url,
       {}, "read first; ip, port and base_url set on their own win"},
      {"JupyterHub", "base_url", "base_url", S::base_url, {}, "a leading `/` is added"},
      {"JupyterHub", "public_url", "public_url"},
      {"JupyterHub", "hub_bind_url", "hub_bind_url"},
      {"JupyterHub", "hub_connect_url", "hub_connect_url"},
      {"JupyterHub", "hub_ip", "hub_bind_url", S::hub_ip, {},
       "`http://HUB_IP:HUB_PORT`, unless hub_bind_url is set"},
      {"JupyterHub", "hub_port", "hub_bind_url", S::hub_port, {},
       "`http://HUB_IP:HUB_PORT`, unless hub_bind_url is set"},
      {"JupyterHub", "hub_connect_ip", "hub_connect_url", S::hub_connect_ip, {},
       "unless hub_connect_url is set"},
      {"JupyterHub", "hub_connect_port", "hub_connect_url", S::hub_connect_port, {},
       "unless hub_connect_url is set"},
      {"JupyterHub", "db_url", "db_url", S::db_url, {},
       "`postgresql+DRIVER://` becomes `postgresql://`"},
      {"JupyterHub", "cookie_secret_file", "cookie_secret_file"},
      {"JupyterHub", "cookie_max_age_days", "auth.cookie_max_age_seconds", S::days_to_seconds},
      {"JupyterHub", "admin_access", "admin_access"},
      {"JupyterHub", "authenticate_prometheus", "authenticate_prometheus"},
      {"JupyterHub", "authenticator_class", "providers.kind", S::class_choice, {},
       "creates the one provider, named `default` (classes below)"},
      {"JupyterHub", "spawner_class", "spawner.kind", S::class_choice, {}, "classes below"},
      {"JupyterHub", "services", "services", S::none, {}, "as JSON; entries with a `command` are run by nbhub (docs/operations.md)"},
      {"JupyterHub", "load_roles", "load_roles", S::none, {}, "kept as JSON"},
      {"JupyterHub", "ssl_cert", "ssl_cert", S::none, {}, "the public port speaks https (docs/tls.md)"},
      {"JupyterHub", "ssl_key", "ssl_key"},
      {"JupyterHub", "log_level", "log_level", S::log_level, {},
       "names, Python's numeric levels, `logging.DEBUG`"},
      {"JupyterHub", "shutdown_on_logout", "shutdown_on_logout"},
      {"JupyterHub", "redirect_to_server", "redirect_to_server"},
      {"JupyterHub", "default_url", "default_url", S::none, {}, "a string, or a function of the handler (docs/hooks.md)"},
      {"JupyterHub", "slow_spawn_timeout", "spawner.slow_spawn_timeout_seconds"},
      {"JupyterHub", "trusted_downstream_ips", "trusted_proxies"},
      {"JupyterHub", "admin_users", "auth.admin_users", S::none, "Authenticator.admin_users"},
      {"JupyterHub", "active_server_limit", "spawner.active_server_limit"},
      {"JupyterHub", "allow_named_servers", "spawner.allow_named_servers"},
      {"JupyterHub", "allow_existing_invalid_named_servers", "spawner.allow_existing_invalid_named_servers"},
      {"JupyterHub", "named_server_limit_per_user", "spawner.named_server_limit_per_user", S::none,
       {}, "a number, or a function of the handler (docs/hooks.md)"},
      {"JupyterHub", "extra_user_scopes", "extra_user_scopes"},
      {"JupyterHub", "token_expires_in_max_seconds", "token_expires_in_max_seconds"},
      {"JupyterHub", "concurrent_spawn_limit", "spawner.concurrent_spawn_limit"},
      {"JupyterHub", "logo_file", "logo_file"},
      // JupyterHub traits nbhub knows but does not read (yet).
      {"JupyterHub", "api_tokens", "", S::unsupported},
      {"JupyterHub", "cleanup_proxy", "", S::unsupported, {}, "nbhub's proxy is built in"},
      {"JupyterHub", "cleanup_servers", "", S::unsupported},
      {"JupyterHub", "confirm_no_ssl", "", S::unsupported},
      {"JupyterHub", "cookie_secret", "", S::unsupported, {}, "use cookie_secret_file"},
      {"JupyterHub", "custom_scopes", "", S::unsupported},
      {"JupyterHub", "data_files_path", "", S::unsupported},
      {"JupyterHub", "db_kwargs", "", S::unsupported},
      {"JupyterHub", "extra_log_file", "", S::unsupported},
      {"JupyterHub", "init_spawners_timeout", "", S::unsupported},
      {"JupyterHub", "internal_ssl", "", S::unsupported},
      {"JupyterHub", "last_activity_interval", "", S::unsupported},
      {"JupyterHub", "load_groups", "", S::unsupported},
      {"JupyterHub", "pid_file", "", S::unsupported},
      {"JupyterHub", "proxy_class", "", S::unsupported, {}, "nbhub's proxy is built in"},
      {"JupyterHub", "subdomain_host", "", S::unsupported},
      {"JupyterHub", "template_paths", "", S::unsupported},
      {"JupyterHub", "template_vars", "", S::unsupported},
      {"JupyterHub", "tornado_settings", "cors_allow_origins", S::tornado_settings, {},
       "only `headers[\"Access-Control-Allow-Origin\"]` is read"},
      {"JupyterHub", "upgrade_db", "", S::unsupported, {}, "run `nbhub db upgrade`"},
      // ---- Spawner (every spawner class reads these; the rest go to spawner.options) ------
      {"Spawner", "cmd", "spawner.cmd", S::none, {}, "a string is read as a one-item list"},
      {"Spawner", "args", "spawner.args"},
      {"Spawner", "environment", "spawner.environment"},
      {"Spawner", "env_keep", "spawner.env_keep"},
      {"Spawner", "notebook_dir", "spawner.notebook_dir"},
      {"Spawner", "default_url", "spawner.default_url"},
      {"Spawner", "start_timeout", "spawner.start_timeout_seconds"},
      {"Spawner", "http_timeout", "spawner.http_timeout_seconds"},
      {"Spawner", "poll_interval", "spawner.poll_interval_seconds"},
      {"Spawner", "ip", "spawner.ip"},
      {"SimpleLocalProcessSpawner", "home_dir_template", "spawner.home_dir_template", S::none,
       {}, "`{username}` is escaped to one path component; default `homes/{username}` under "
       "`data_dir`, not `/tmp/{username}`"},
      // ---- Authenticator (JupyterHub core) -----------------------------------------------
      {"Authenticator", "admin_users", "auth.admin_users"},
      {"Authenticator", "allowed_users", "auth.allowed_users"},
      {"Authenticator", "blocked_users", "auth.blocked_users"},
      {"Authenticator", "allow_all", "auth.allow_all"},
      {"Authenticator", "allow_existing_users", "auth.allow_existing_users"},
      {"Authenticator", "manage_groups", "auth.manage_groups"},
      {"Authenticator", "auto_login", "auth.auto_login"},
      {"Authenticator", "enable_auth_state", "auth.enable_auth_state"},
      {"Authenticator", "username_map", "auth.username_map"},
      {"Authenticator", "whitelist", "auth.allowed_users", S::none, "allowed_users"},
      {"Authenticator", "blacklist", "auth.blocked_users", S::none, "blocked_users"},
      {"Authenticator", "auth_refresh_age", "", S::unsupported},
      {"Authenticator", "refresh_pre_spawn", "", S::unsupported},
      {"Authenticator", "refresh_pre_stop", "", S::unsupported},
      {"Authenticator", "post_auth_hook", "", S::unsupported},
      {"Authenticator", "username_pattern", "", S::unsupported},
      {"Authenticator", "manage_roles", "", S::unsupported},
      {"Authenticator", "delete_invalid_users", "", S::unsupported},
      {"Authenticator", "reset_managed_roles_on_startup", "", S::unsupported},
      // ---- OAuthenticator (all OAuth classes) ---------------------------------------------
      {"OAuthenticator", "client_id", "providers.client_id"},
      {"OAuthenticator", "client_secret", "providers.client_secret"},
      {"OAuthenticator", "oauth_callback_url", "providers.oauth_callback_url"},
      {"OAuthenticator", "authorize_url", "providers.authorize_url"},
      {"OAuthenticator", "token_url", "providers.token_url"},
      {"OAuthenticator", "userdata_url", "providers.userdata_url"},
      {"OAuthenticator", "login_service", "providers.login_service", S::none, {},
       "Custos: always \"Custos Login\", as upstream"},
      {"OAuthenticator", "username_claim", "providers.username_claim"},
      {"OAuthenticator", "scope", "providers.scope"},
      {"OAuthenticator", "auth_state_groups_key", "providers.groups_claim", S::groups_path, {},
       "the leading `oauth_user.` (CILogon: `cilogon_user.`) is dropped"},
      {"OAuthenticator", "basic_auth", "providers.token_auth", S::basic_auth, {},
       "True: `client_secret_basic`, False: `client_secret_post`"},
      {"OAuthenticator", "userdata_params", "providers.userdata_params"},
      {"OAuthenticator", "token_params", "providers.token_params"},
      {"OAuthenticator", "extra_authorize_params", "providers.extra_authorize_params"},
      {"OAuthenticator", "validate_server_cert", "providers.tls_verify"},
      {"OAuthenticator", "logout_redirect_url", "providers.logout_redirect_url"},
      {"OAuthenticator", "enable_pkce", "providers.pkce"},
      {"OAuthenticator", "userdata_from_id_token", "providers.userdata_from_id_token"},
      {"OAuthenticator", "allow_unverified_email", "providers.allow_unverified_email"},
      {"OAuthenticator", "custom_403_message", "auth.custom_403_message"},
      {"OAuthenticator", "allowed_groups", "auth.allowed_groups", S::none, {},
       "needs manage_groups, as OAuthenticator 17"},
      {"OAuthenticator", "admin_groups", "auth.admin_groups", S::none, {},
       "needs manage_groups, as OAuthenticator 17"},
      {"OAuthenticator", "allowed_scopes", "", S::unsupported},
      {"OAuthenticator", "http_request_kwargs", "", S::unsupported,
       {}, "see [http_client]"},
      {"OAuthenticator", "userdata_token_method", "", S::unsupported},
      {"OAuthenticator", "user_auth_state_key", "", S::unsupported},
      {"OAuthenticator", "modify_auth_state_hook", "", S::unsupported},
      {"OAuthenticator", "refresh_user_hook", "", S::unsupported},
      // ---- GenericOAuthenticator: deprecated aliases --------------------------------------
      {"GenericOAuthenticator", "username_key", "providers.username_claim", S::none,
       "username_claim"},
      {"GenericOAuthenticator", "extra_params", "providers.token_params", S::none, "token_params"},
      {"GenericOAuthenticator", "tls_verify", "providers.tls_verify", S::none,
       "validate_server_cert"},
      {"GenericOAuthenticator", "claim_groups_key", "providers.groups_claim", S::none,
       "auth_state_groups_key"},
      // ---- DummyAuthenticator -------------------------------------------------------------
      {"DummyAuthenticator", "password", "providers.password", S::none, {},
       "every user must give it; empty: any password"},
      // ---- SharedPasswordAuthenticator (JupyterHub 5.3) ----------------------------------
      {"SharedPasswordAuthenticator", "user_password", "providers.user_password", S::none, {},
       "at least 8 characters"},
      {"SharedPasswordAuthenticator", "admin_password", "providers.admin_password", S::none, {},
       "at least 32 characters, not the user password; only admin_users give it"},
      {"SharedPasswordAuthenticator", "password_groups", "", S::unsupported, {},
       "groups by password (5.5) are not read yet"},
      // ---- CustosOAuthenticator, CILogonOAuthenticator ------------------------------------
      {"CustosOAuthenticator", "custos_host", "providers.custos_host"},
      {"CILogonOAuthenticator", "cilogon_host", "providers.cilogon_host"},
      {"CILogonOAuthenticator", "idps", "providers.idps", S::cilogon_idps, {},
       "one table per entity id"},
      {"CILogonOAuthenticator", "allowed_idps", "providers.idps", S::cilogon_idps, "idps",
       "one table per entity id"},
      {"CILogonOAuthenticator", "skin", "", S::unsupported},
  };
  return traits;
}

std::span<const std::string_view> known_spawner_traits(std::string_view section) {
  static const std::map<std::string_view, std::vector<std::string_view>> traits = {
      {"Spawner",
       {"args", "auth_state_hook", "cmd", "consecutive_failure_limit", "cpu_guarantee",
        "cpu_limit", "debug", "default_url", "disable_user_config", "env_keep", "environment",
        "http_timeout", "ip", "mem_guarantee", "mem_limit", "notebook_dir",
        "oauth_client_allowed_scopes", "oauth_roles", "options_form", "options_from_form",
        "poll_interval", "port", "post_stop_hook", "pre_spawn_hook", "profile_list", "server_token_scopes",
        "ssl_alt_names", "start_timeout", "progress_ready_hook"}},
      {"LocalProcessSpawner",
       {"interrupt_timeout", "kill_timeout", "popen_kwargs", "shell_cmd", "term_timeout"}},
      {"SimpleLocalProcessSpawner", {"home_dir_template"}},
      {"DockerSpawner",
       {"allowed_images", "client_kwargs", "extra_create_kwargs", "extra_host_config",
        "host_homedir_format_string", "host_ip", "image", "image_homedir_format_string",
        "links", "mounts", "move_certs_image", "name_template", "network_name", "object_type",
        "post_start_cmd", "prefix", "pull_policy", "read_only_volumes", "remove", "tls_config",
        "use_docker_client_env", "use_internal_hostname", "use_internal_ip", "volumes"}},
      {"KubeSpawner",
       {"allow_privilege_escalation", "container_security_context", "enable_user_namespaces",
        "extra_annotations", "extra_container_config", "extra_containers", "extra_labels",
        "extra_pod_config", "fs_gid", "gid", "image", "image_pull_policy",
        "image_pull_secrets", "init_containers", "lifecycle_hooks", "namespace",
        "node_selector", "pod_name_template", "pod_security_context", "priority_class_name",
        "privileged", "profile_list", "pvc_name_template", "scheduler_name",
        "service_account", "services_enabled", "storage_access_modes", "storage_capacity",
        "storage_class", "storage_pvc_ensure", "supplemental_gids", "tolerations", "uid",
        "user_namespace_template", "volume_mounts", "volumes", "working_dir",
        // set by z2jh's jupyterhub_config.py (spec/kubernetes.md §1.10-1.11)
        "common_labels", "events_enabled", "extra_resource_guarantees", "extra_resource_limits",
        "node_affinity_preferred", "node_affinity_required", "pod_affinity_preferred",
        "pod_affinity_required", "pod_anti_affinity_preferred", "pod_anti_affinity_required",
        "slug_scheme", "storage_extra_labels", "storage_selector"}},
  };
  auto it = traits.find(section);
  if (it == traits.end()) return {};
  return it->second;
}

std::string_view ignored_section_reason(std::string_view section) {
  if (section == "ConfigurableHTTPProxy" || section == "Proxy")
    return "nbhub's proxy is built in; its settings are nbhub options (docs/config.md)";
  if (section == "CryptKeeper")
    return "give auth_state keys in NBHUB_CRYPT_KEY or JUPYTERHUB_CRYPT_KEY";
  if (section == "Application" || section == "NotebookApp" || section == "ServerApp" ||
      section == "SingleUserNotebookApp")
    return "not read by the hub";
  return {};
}

}  // namespace nbhub::config::py
