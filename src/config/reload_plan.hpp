#pragma once
// What a configuration reload changes (SIGHUP, POST /hub/api/config/reload; docs/operations.md).
//
// Some options are applied to the running hub (users, groups, roles, services, identity
// providers, culling, ...); the others are read once at start-up (listeners, base_url, the
// database, the spawner kind, ...). plan_reload() compares the running configuration with a
// freshly loaded one and returns the configuration to apply: the new one, except that every
// restart-only option keeps its running value (and its provenance), so nothing half-applies.
// Changed restart-only options are listed for the operator's warning; secrets are named, never
// shown.
#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/diagnostic.hpp"
#include "config/options.hpp"
#include "config/provenance.hpp"

namespace nbhub::config {

enum class Reloadable {
  live,      // applied by a reload
  restart,   // read at start-up only: a change waits for a restart (and is warned about)
  ignored,   // reloaded elsewhere (ssl_cert/ssl_key: the TLS part watches its files)
};

// How a hub-level option behaves on reload for a hub running `running`. Provider options are
// all live; so are the spawner's settings (servers started after the reload use them), homes
// only with the local spawner.
Reloadable reloadable(Option const& opt, HubConfig const& running);

struct ProviderChange {
  std::string name;
  enum class Kind { added, removed, changed } kind = Kind::changed;
  std::vector<std::string> keys;  // changed provider option keys (kind == changed)
};

struct ReloadPlan {
  HubConfig next;                    // what to apply
  Provenance next_provenance;        // where `next`'s values came from
  std::vector<std::string> live;     // changed live hub option keys, in table order
  std::vector<std::string> restart;  // changed restart-only keys (kept at their running value)
  std::vector<ProviderChange> providers;
  bool changed() const { return !live.empty() || !providers.empty(); }
};

ReloadPlan plan_reload(HubConfig const& running, Provenance const& running_provenance,
                       HubConfig const& loaded, Provenance const& loaded_provenance);

// What one reload did, for the log and POST /hub/api/config/reload.
struct ReloadOutcome {
  enum class Status {
    applied,    // the new configuration is in effect (restart-only keys excepted)
    unchanged,  // it loaded, and nothing live differs
    refused,    // it did not load or could not be applied: the running one stays
    busy,       // another reload was running; nothing was read
  };
  Status status = Status::refused;
  std::string summary;                  // summary(plan), or why it was refused
  std::vector<std::string> restart;     // changed options waiting for a restart
  std::vector<Diagnostic> errors;       // refused: every error, with file and line
  std::vector<Diagnostic> warnings;
  std::uint64_t generation = 0;         // of the configuration in effect afterwards
};

// The outcome as the API returns it: {"result": "applied" | "unchanged" | "refused" | "busy",
// "summary", "restart_required": [keys], "errors": [{"file", "line", "option", "message",
// "text"}], "warnings": [...], "generation"}.
boost::json::object outcome_json(ReloadOutcome const& o);

// One line for the log: "changed auth.allowed_users, auth.providers: idp2 added, idp
// (client_secret, login_service) changed" or "no change". Names only, never values.
std::string summary(ReloadPlan const& plan);

// The warning for plan.restart, or "" when empty: "these options changed but need a restart
// (the running values stay until then): port, db_url".
std::string restart_warning(ReloadPlan const& plan);

}  // namespace nbhub::config
