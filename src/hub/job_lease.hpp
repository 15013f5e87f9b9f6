#pragma once
// Work done by one replica at a time (docs/replicas.md): of several nbhub processes on one
// database, only the holder of the store lease "job <name>" runs the job's rounds (today the
// periodic token refresh round). keep() takes the lease and renews it every `renew_every`
// for `ttl`; a holder that dies stops renewing, its lease runs out, and the next replica to
// try takes it over: the job moves within ttl + renew_every. A clean shutdown releases the
// lease, so the job moves at the others' next try.
//
// Why a lease row and not a PostgreSQL advisory lock: it works on SQLite too (one process,
// which then always holds it) and through the store's pool, with no connection held for the
// lease's life; the price is a handover bounded by the TTL instead of immediate.
//
// The lease's times come from the injected clock (the database compares them); the waits
// between tries are steady-clock timers. Thread-safety: held() from any thread; keep() once.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "core/clock.hpp"

namespace spdlog { class logger; }
namespace nbhub::store { class Store; }

namespace nbhub::hub {

struct LeaseTiming {
  std::chrono::milliseconds ttl{15000};
  std::chrono::milliseconds renew_every{5000};
};

class JobLease {
 public:
  // `holder` is this replica's id (logged at start-up). References must outlive the lease.
  JobLease(std::string job, store::Store& store, std::string holder, Clock const& clock,
           boost::asio::thread_pool& pool, spdlog::logger& log, LeaseTiming timing = {});

  // Tries to take or renew the lease every renew_every until stop(); then releases it if held.
  boost::asio::awaitable<void> keep();
  // One try: takes or renews the lease; returns whether this replica holds it now. A store
  // error counts as not holding it (a replica cut off from the database stops the job).
  boost::asio::awaitable<bool> renew_once();
  // Ends keep() at its next wake-up.
  void stop() { stopped_ = true; }
  // At shutdown, from a thread that may block (the io_context may no longer run): gives the
  // lease up at once so another replica takes the job at its next try.
  void release_blocking();

  bool held() const { return held_.load(); }
  std::string const& lease_name() const { return name_; }
  std::string const& holder() const { return holder_; }

 private:
  std::string name_;
  store::Store& store_;
  std::string holder_;
  Clock const& clock_;
  boost::asio::thread_pool& pool_;
  spdlog::logger& log_;
  LeaseTiming timing_;
  std::atomic<bool> held_{false};
  std::atomic<bool> stopped_{false};
};

// Runs `round` every `every()` (read before each wait; at least one second) while `lease`
// is held, until the executor stops. A round's failure is the round's to log.
boost::asio::awaitable<void> run_while_held(JobLease& lease, std::function<std::chrono::seconds()> every,
                                            std::function<boost::asio::awaitable<void>()> round);

// For work that runs all along rather than in rounds (managed services, the Kubernetes
// watch): checks `lease` every `every` and calls `gained` when this replica came to hold it,
// `lost` when it no longer does, until the executor stops. Starts from "not held".
boost::asio::awaitable<void> follow_lease(JobLease& lease, std::chrono::milliseconds every,
                                          std::function<boost::asio::awaitable<void>()> gained,
                                          std::function<boost::asio::awaitable<void>()> lost);

}  // namespace nbhub::hub
