#pragma once
// Waiting for a started server to answer HTTP: JupyterHub's User._wait_up /
// wait_for_http_server (spec §1.7).
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <string>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "http/client.hpp"
#include "spawn/spawner.hpp"

namespace spdlog { class logger; }

namespace nbhub::spawn {

struct ReadinessPolicy {
  std::chrono::milliseconds timeout{30000};  // spawner.http_timeout
  // Backoff between attempts, doubling. JupyterHub uses 0.2 s to 5 s with jitter; local
  // servers answer within a few seconds and a refused loopback connect costs nothing, so we
  // poll faster to shave the tail off every spawn.
  std::chrono::milliseconds first_delay{10};
  std::chrono::milliseconds max_delay{1000};
};

struct ServerReady {
  unsigned status = 0;             // the first answer below 500 (302 to the login or /tree)
  std::string jupyterhub_version;  // its X-JupyterHub-Version, "" when absent (spec §1.7.4)
  int attempts = 0;
};

// GETs `url` (the server's URL with its prefix, "http://127.0.0.1:PORT/user/alice/") without
// following redirects until any status below 500 comes back; >= 500 is logged and retried,
// transport errors (refused, reset, timeout) are retried silently. Before every attempt asks
// spawner.poll(state) and gives up at once when the server exited.
//
// Deadline and clock: gives up once `clock` passes start + policy.timeout; delays between
// attempts are real timers on the caller's executor. Resumes on the caller's executor.
//
// Errors, all Errc::unavailable, each followed by the spawner's output_tail() when known:
//   "the server exited with status 3 before answering at URL"
//   "the server was killed by signal 9 (KILL) before answering at URL"
//   "the server at URL did not answer within http_timeout (30 s); last attempt: ..."
//   "waiting for the server at URL was cancelled"
boost::asio::awaitable<Result<ServerReady>> wait_until_ready(http::HttpClient& http,
                                                             Spawner& spawner,
                                                             boost::json::object state,
                                                             std::string url,
                                                             ReadinessPolicy policy,
                                                             Clock const& clock,
                                                             spdlog::logger& log);

// "exited with status 3", "was killed by signal 9 (KILL)", "exited (status unknown)".
std::string describe_exit(int status);

// "30 s", "250 ms".
std::string describe_duration(std::chrono::milliseconds d);

}  // namespace nbhub::spawn
