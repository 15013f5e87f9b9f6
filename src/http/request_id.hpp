#pragma once
// Request ids: one per request on the public and hub API ports, in the access log, in the
// X-Request-Id response header, and passed to the upstream by the proxy.
//
// Cheap on the proxy's hot path: a random 6-hex-digit prefix chosen once per process and a
// counter ("3fa2c1-1b"): one relaxed atomic add and a short string that fits the small-string
// buffer (no allocation) for the first 2^32 requests. Unique within a process, and across
// replicas with high probability.
//
// An incoming X-Request-Id is kept only from a peer in trusted_proxies (a load balancer that
// set it), and only when it is 1 to 128 visible ASCII characters without '"' or '\': anything
// else could forge or garble log lines.
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace nbhub::http {

class RequestIdSource {
 public:
  explicit RequestIdSource(std::uint32_t random_prefix);
  // A prefix from the OS's randomness (getrandom); falls back to pid and time.
  static RequestIdSource from_os();

  std::string next();
  // `incoming` when `trusted` and acceptable, else next().
  std::string choose(std::string_view incoming, bool trusted);

 private:
  char prefix_[7];
  std::atomic<std::uint64_t> counter_{0};
};

bool acceptable_request_id(std::string_view id);

}  // namespace nbhub::http
