#pragma once
// Services from config (`services`, JupyterHub's c.JupyterHub.services): name, URL, admin flag,
// API token, OAuth client settings. The API tokens are operator-chosen strings, so they are
// never stored: each is hashed once at load and a presented token is compared in constant
// time against every service's hash (JupyterHub instead spends 16384 sha512 rounds on every
// request for these).
//
// Immutable after load: shared by every request thread without locks.
#include <boost/json/object.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/secret.hpp"

namespace nbhub { class Random; }
namespace nbhub::store { class Store; }
namespace nbhub::proxy { class RouteTable; }

namespace nbhub::hub {

struct Service {
  std::string name;
  std::string url;               // "" for a service without a web endpoint
  std::string prefix;            // <base_url>services/<name>/
  bool admin = false;
  bool display = true;
  boost::json::object info;
  std::string oauth_client_id;   // "service-<name>" unless configured
  std::string oauth_redirect_uri;  // <prefix>oauth_callback unless configured
  bool oauth_no_confirm = false;
  std::vector<std::string> oauth_client_allowed_scopes;
  std::string token_sha256;      // raw SHA-256 of api_token; "" when the service has none
  // A managed service (JupyterHub's Service.managed): nbhub runs `command` (hub/service_supervisor.hpp).
  std::vector<std::string> command;  // empty = external service
  std::map<std::string, std::string> environment;
  std::string cwd;   // "" = nbhub's working directory
  std::string user;  // system user to become; "" = nbhub's own
  // The token itself, kept only for a managed service (it goes into its environment):
  // api_token from config, or one generated at start-up as JupyterHub does.
  Secret api_token;
  bool token_generated = false;

  // False for a service created through POST /hub/api/services/{name} (JupyterHub 5.2's
  // runtime services, kept in the store): only those may be deleted through the API.
  bool from_config = true;

  bool managed() const { return !command.empty(); }
};

class ServiceRegistry {
 public:
  ServiceRegistry() = default;
  // `services_json`: a JSON array of objects with JupyterHub's keys. Errors (Errc::config) name
  // the service and the field: a missing name, a token shorter than 8 characters, two services
  // with one name or one token, unknown keys.
  static Result<ServiceRegistry> load(std::string_view services_json, std::string const& base_url);

  // Start-up (or reload), before the registry is shared: a managed service without api_token
  // gets a random one (JupyterHub's "generated at startup" token). One that `previous` already
  // generated for a service of that name is kept, so a reload does not restart it for nothing.
  Result<void> generate_missing_tokens(Random& random, ServiceRegistry const* previous = nullptr);

  // The service whose token this is, or nullptr. Takes the same time whichever service (if
  // any) matches: every hash is compared, in constant time.
  Service const* by_token(std::string_view raw) const;
  Service const* find(std::string_view name) const;
  std::vector<Service> const& all() const { return services_; }
  Service const* by_oauth_client(std::string_view client_id) const;

  // A runtime service from its stored spec: the JupyterHub keys of `services` (no `command`:
  // runtime services are never managed), with "api_token_sha256" (hex) instead of api_token.
  // Errors (Errc::bad_request) as load's, naming the key.
  static Result<Service> runtime_service(boost::json::object spec, std::string const& base_url);
  // A copy with `extra` added after the existing services; conflict for a taken name, client
  // id or token.
  Result<ServiceRegistry> with(std::vector<Service> const& extra) const;
  // A copy without the runtime service `name`.
  ServiceRegistry without(std::string_view name) const;
  // The runtime services, to carry them over a reload of the config's services.
  std::vector<Service> runtime() const;

  // Start-up, blocking: each service with a URL and a token becomes an OAuth client of the
  // hub (HubOAuth: client_id, redirect_uri, the token as client secret, access scope
  // `access:services!service=<name>` plus its oauth_client_allowed_scopes).
  Result<void> register_oauth_clients(store::Store& store) const;
  // /services/<name> routes to each service with a URL (spec §5.3, data {"service": name}).
  Result<void> add_routes(proxy::RouteTable& routes) const;

 private:
  std::vector<Service> services_;
};

}  // namespace nbhub::hub
