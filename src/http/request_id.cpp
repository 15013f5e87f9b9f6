#include "http/request_id.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <chrono>

namespace nbhub::http {

namespace {
constexpr char kHex[] = "0123456789abcdef";
}

RequestIdSource::RequestIdSource(std::uint32_t random_prefix) {
  for (int i = 5; i >= 0; --i, random_prefix >>= 4) prefix_[i] = kHex[random_prefix & 0xf];
  prefix_[6] = '-';
}

RequestIdSource RequestIdSource::from_os() {
  std::uint32_t r = 0;
  if (::getrandom(&r, sizeof r, 0) != sizeof r)
    r = static_cast<std::uint32_t>(::getpid()) ^
        static_cast<std::uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return RequestIdSource(r);
}

std::string RequestIdSource::next() {
  auto n = counter_.fetch_add(1, std::memory_order_relaxed) + 1;
  char digits[16];
  int len = 0;
  do {
    digits[len++] = kHex[n & 0xf];
    n >>= 4;
  } while (n);
  std::string out;
  out.reserve(7 + static_cast<std::size_t>(len));
  out.append(prefix_, 7);
  while (len) out.push_back(digits[--len]);
  return out;
}

bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id)
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  return true;
}

std::string RequestIdSource::choose(std::string_view incoming, bool trusted) {
  if (trusted && acceptable_request_id(incoming)) return std::string(incoming);
  return next();
}

}  // namespace nbhub::http
