#pragma once
// The Docker spawner's settings, named after DockerSpawner's traits so that
// `c.DockerSpawner.image = ...` in jupyterhub_config.py (kept by the importer in
// HubConfig::spawner_options as "DockerSpawner.image" -> value, JSON for non-strings) and
// `[spawner_options] "DockerSpawner.image" = "..."` in nbhub.toml mean the same.
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "spawn/spawn_env.hpp"

namespace nbhub::spawn {

// One entry of `volumes`: a named volume or host path (the key, templated) mounted at `target`
// (templated). DockerSpawner writes {"/host": "/container"} or {"/host": {"bind": "/c",
// "mode": "ro"}}; `read_only_volumes` adds read-only ones.
struct DockerVolume {
  std::string source;
  std::string target;
  bool read_only = false;
};

struct DockerConfig {
  // The Engine API socket. DOCKER_HOST (unix:// only) overrides the default.
  std::string socket_path = "/var/run/docker.sock";
  std::string api_version = "v1.41";  // Docker 20.10 and newer speak it
  std::string image = "jupyterhub/singleuser:latest";
  // "ifnotpresent" (pull when missing), "always", "never" (a missing image is an error).
  std::string pull_policy = "ifnotpresent";
  // Container name; {username} and {servername} (escaped for Docker: [a-zA-Z0-9_.-]) and
  // {prefix}. A named server appends "--{servername}" unless the template names it.
  std::string name_template = "{prefix}-{username}";
  std::string prefix = "jupyter";
  // "host": the container shares the host's network and the server listens on 127.0.0.1 on
  // a free port. Any other network: the server listens on 0.0.0.0:8888 and the hub reaches it
  // at the container's address on that network.
  std::string network_name = "bridge";
  bool remove = false;  // delete the container when the server stops
  std::vector<DockerVolume> volumes;
  double cpu_limit = 0;          // CPUs (Spawner.cpu_limit); 0 = none
  std::int64_t mem_limit = 0;    // bytes (Spawner.mem_limit, "512M", "2G"); 0 = none
  boost::json::object extra_create_kwargs;  // merged into POST /containers/create's body
  boost::json::object extra_host_config;    // merged into its HostConfig
  std::chrono::seconds api_timeout{30};     // per Engine API call
  std::chrono::seconds pull_timeout{600};   // an image pull
  int port = 8888;                          // the server's port inside a non-host network
};

// Reads DockerSpawner.* (and Spawner.cpu_limit / mem_limit) from `traits`, on top of
// `base`; `env` supplies DOCKER_HOST. Errors (config) name the trait and what was expected.
Result<DockerConfig> docker_config_from_traits(DockerConfig base,
                                               std::map<std::string, std::string> const& traits,
                                               EnvLookup const& env);

// "512M" / "2G" / "1024" / 1.5e9 -> bytes (DockerSpawner's ByteSpecification: K, M, G, T
// are powers of 1024). nullopt for anything else.
std::optional<std::int64_t> parse_byte_size(std::string const& text);

// Docker container names allow [a-zA-Z0-9][a-zA-Z0-9_.-]; other bytes become "-XX" hex,
// as DockerSpawner's escapism does (with '-' as the escape character).
std::string docker_escape(std::string const& s);

}  // namespace nbhub::spawn
