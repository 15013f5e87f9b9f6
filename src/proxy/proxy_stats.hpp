#pragma once
// Counters the proxy keeps for metrics and tests. Relaxed atomics: each is read on its own.
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace nbhub::proxy {

struct ProxyStats {
  std::atomic<std::uint64_t> requests{0};         // proxied requests (including upgrades)
  std::atomic<std::uint64_t> upstream_errors{0};  // answered 502/503/504 by the proxy
  std::atomic<std::uint64_t> tunnels_opened{0};
  std::atomic<std::int64_t> tunnels_open{0};
  // Body bytes relayed (WebSocket tunnels: every byte, added when the tunnel closes).
  std::atomic<std::uint64_t> bytes_to_upstream{0};
  std::atomic<std::uint64_t> bytes_to_client{0};
  // The most body bytes one exchange or tunnel direction held at once: the upstream's read
  // buffer plus the chunk in flight. Bounded by ProxyConfig (see buffer_bytes).
  std::atomic<std::size_t> peak_buffered_bytes{0};

  void note_buffered(std::size_t n) noexcept {
    auto seen = peak_buffered_bytes.load(std::memory_order_relaxed);
    while (n > seen && !peak_buffered_bytes.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
    }
  }
};

}  // namespace nbhub::proxy
