#pragma once
// DockerSpawner: each server is a container, created through the Docker Engine API on its
// unix socket with nbhub's own HTTP client (http/client.hpp, ClientRequest::unix_socket).
// Modelled on the dockerspawner package's DockerSpawner; settings in docker_config.hpp.
//
// start():
//   1. an old container of the same name (a previous run, remove = false) is removed;
//   2. the image is inspected and, when missing (pull_policy ifnotpresent) or always, pulled;
//      progress events say so, and a refused pull fails with the daemon's message;
//   3. POST /containers/create: Image, Cmd (cmd + args), Env (the hub's contract plus
//      `environment`; env_keep is empty, as in DockerSpawner: the host's PATH means nothing in
//      an image), Labels, HostConfig (NetworkMode, Binds from `volumes`, NanoCpus, Memory),
//      then extra_create_kwargs and extra_host_config merged in (docker-py's snake_case keys
//      are turned into the Engine API's CamelCase: working_dir -> WorkingDir);
//   4. POST /containers/{id}/start, then inspect: a container that already exited fails the
//      spawn with its exit code and its last log lines.
// Host networking: the server listens on 127.0.0.1 on a free port (like LocalSpawner) and
// the hub reaches it there. Other networks: it listens on 0.0.0.0:8888 and the hub reaches it
// at the container's address on network_name.
//
// State: {"container_id", "container_name", "url"}. adopt() takes such a state after an nbhub
// restart; poll() inspects the container (running -> nullopt; exited -> its exit code; gone ->
// 0). stop(): POST /stop with t = term_timeout (0 when `now`), then DELETE when `remove`.
//
// Errors carry the daemon's own message: "docker: create container jupyter-alice: Conflict.
// The container name ... is already in use" (unavailable), "docker: pull image x: ... not
// found" (config), "cannot connect to unix socket /var/run/docker.sock: ..." (unavailable).
#include <boost/asio/thread_pool.hpp>

#include <string>
#include <vector>

#include "core/snapshot.hpp"

#include "http/client.hpp"
#include "spawn/docker_config.hpp"
#include "spawn/spawn_env.hpp"
#include "spawn/spawner.hpp"
#include "spawn/spawner_config.hpp"
#include "spawn/spawner_overrides.hpp"

namespace spdlog { class logger; }

namespace nbhub::spawn {

class DockerSpawner final : public Spawner {
 public:
  // References must outlive the spawner and every call in flight.
  DockerSpawner(SpawnerConfig cfg, DockerConfig docker, http::HttpClient& http,
                spdlog::logger& log);

  // A configuration reload (docs/operations.md): spawns from now on use these settings (image,
  // limits, volumes, command, environment, ...); running containers are not touched, and a
  // call in flight finishes with the settings it began with. The daemon's socket cannot change
  // while containers run on it: it keeps its start-up value, named by restart_only_changes()
  // for the reload's warning when it changed.
  void set_config(SpawnerConfig cfg, DockerConfig docker);
  std::vector<std::string> restart_only_changes(DockerConfig const& docker) const;

  net::awaitable<Result<Started>> start(SpawnRequest req, ProgressSink& sink) override;
  net::awaitable<std::optional<int>> poll(boost::json::object state) override;
  net::awaitable<Result<void>> stop(boost::json::object state, bool now) override;
  Result<void> adopt(boost::json::object const& state) override;
  net::awaitable<std::string> output_tail(boost::json::object state) override;

  // The container name for a user's server (name_template, escaped).
  std::string container_name(std::string const& user, std::string const& server) const;
  // The body of POST /containers/create; public for tests. `listen_port` is the port the
  // server listens on inside the container's network namespace.
  Result<boost::json::object> create_body(SpawnRequest const& req, int listen_port,
                                          std::string const& service_url) const;

 private:
  struct Reply {
    unsigned status = 0;
    std::string body;
  };
  // One Engine API call; a transport failure is an error, any HTTP status a Reply.
  net::awaitable<Result<Reply>> call(std::string method, std::string path, std::string body,
                                     std::chrono::seconds timeout);
  // Error from a daemon reply: "docker: <what>: <daemon message>", code by status.
  static Error daemon_error(std::string const& what, Reply const& r);
  net::awaitable<Result<void>> ensure_image(DockerConfig const& d, ProgressSink& sink);
  net::awaitable<Result<void>> remove_container(std::string const& id_or_name);

  using Settings = DockerSettings;
  // The settings with the request's trait_overrides applied (Errc::bad_request for one the
  // Docker spawner cannot apply).
  Result<std::shared_ptr<const Settings>> effective(SpawnRequest const& req) const;
  Snapshot<Settings> settings_;      // loaded once per call
  std::string const fixed_socket_;   // the daemon's socket, fixed at start-up
  http::HttpClient& http_;
  spdlog::logger& log_;
};

// docker-py's snake_case keyword (working_dir) as the Engine API's key (WorkingDir);
// CamelCase keys pass unchanged.
std::string engine_api_key(std::string const& key);

}  // namespace nbhub::spawn
