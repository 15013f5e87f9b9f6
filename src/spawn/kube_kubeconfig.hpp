#pragma once
// A kubeconfig file (kubectl's ~/.kube/config) as API access for the Kubernetes spawner, for a
// hub outside the cluster. Read with yaml-cpp (Debian's libyaml-cpp-dev). The current context
// (or `context`) names a cluster (server, certificate-authority or -data,
// insecure-skip-tls-verify) and a user (token or tokenFile); its namespace is returned too.
// Client certificates and exec/auth-provider plug-ins are refused with a message: nbhub
// sends bearer tokens only.
#include <string>

#include "core/result.hpp"
#include "spawn/kube_config.hpp"

namespace nbhub::spawn::kube {

struct KubeconfigAccess {
  ApiAccess api;
  std::string namespace_;  // "" when the context names none
};

// `ca_dir`: where certificate-authority-data is written as a file for the HTTP client.
// Errors (Errc::config) name the file and the entry that is missing or unsupported.
Result<KubeconfigAccess> read_kubeconfig(std::string const& path, std::string const& context,
                                         std::string const& ca_dir);

}  // namespace nbhub::spawn::kube
