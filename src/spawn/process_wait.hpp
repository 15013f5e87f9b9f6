#pragma once
// Waiting for a process group to be gone, shared by the local spawner and the managed-service
// supervisor.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>

#include "spawn/process.hpp"

namespace nbhub::spawn {

// True once the leader of `ref` has exited and no member of its group lives; false when
// `limit` passed first (zero: look once). Polls with a timer on the caller's executor, from
// 10 ms up to 200 ms apart; the /proc scan runs on `pool`.
boost::asio::awaitable<bool> wait_group_gone(ProcessRunner& runner, boost::asio::thread_pool& pool,
                                             ProcessRef ref, std::chrono::milliseconds limit);

}  // namespace nbhub::spawn
