#include "core/result.hpp"

#include <stdexcept>

namespace nbhub {

std::string_view to_string(Errc c) noexcept {
  switch (c) {
    case Errc::bad_request: return "bad_request";
    case Errc::unauthorized: return "unauthorized";
    case Errc::forbidden: return "forbidden";
    case Errc::not_found: return "not_found";
    case Errc::conflict: return "conflict";
    case Errc::too_large: return "too_large";
    case Errc::unavailable: return "unavailable";
    case Errc::bad_gateway: return "bad_gateway";
    case Errc::config: return "config";
    case Errc::internal: return "internal";
  }
  return "internal";
}

void throw_exception_from_error(Error const& e, boost::source_location const&) {
  throw std::runtime_error(std::string(to_string(e.code)) + ": " + e.message);
}

}  // namespace nbhub
