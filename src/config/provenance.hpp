#pragma once
// Where each configured value came from (a file and line, an environment variable, a flag), kept
// after loading for GET /hub/api/config. An option missing from the maps holds its built-in
// default.
#include <map>
#include <string>
#include <vector>

#include "config/options.hpp"

namespace nbhub::config {

struct ProviderProvenance {
  Origin declared;                                 // where the provider's table began
  std::map<std::string, Origin, std::less<>> options;  // provider option key -> where set
};

struct Provenance {
  std::map<std::string, Origin, std::less<>> hub;  // hub option key ("auth.allowed_users")
  std::vector<ProviderProvenance> providers;       // in HubConfig::auth.providers order
};

}  // namespace nbhub::config
