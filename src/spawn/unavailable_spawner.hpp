#pragma once
// The spawner for a configured kind nbhub does not have yet (spawner.kind = "kubernetes"):
// sign-in and the API work, and every start fails with `reason`, shown on the pending page and
// in the API. Never a silent fallback to the local spawner, which would run users' servers
// inside the hub's own container.
#include <string>
#include <utility>

#include "spawn/spawner.hpp"

namespace nbhub::spawn {

class UnavailableSpawner final : public Spawner {
 public:
  explicit UnavailableSpawner(std::string reason) : reason_(std::move(reason)) {}

  net::awaitable<Result<Started>> start(SpawnRequest, ProgressSink&) override {
    co_return Error{Errc::config, reason_};
  }
  // Nothing was ever started by this spawner: any recorded server is not running.
  net::awaitable<std::optional<int>> poll(boost::json::object) override { co_return 0; }
  net::awaitable<Result<void>> stop(boost::json::object, bool) override { co_return Result<void>{}; }
  Result<void> adopt(boost::json::object const&) override { return Error{Errc::bad_request, reason_}; }

 private:
  std::string reason_;
};

}  // namespace nbhub::spawn
