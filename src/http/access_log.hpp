#pragma once
// One access line per request, written by the listener (hub pages and API) and the proxy.
// Text: "GET /path 200 1.2ms ip=127.0.0.1 conn=3 id=3fa2c1-1b" (route= for proxied requests).
// JSON (log_format = "json"): the line's fields as members of the log record (app/logging.hpp
// puts time, level and logger around them): message, method, path, status, duration_ms,
// remote, route, conn, request_id. The query string is never logged (it can carry OAuth codes,
// state and ?token=).
#include <cstdint>
#include <string_view>

namespace spdlog { class logger; }

namespace nbhub::http {

struct AccessLine {
  std::string_view method;
  std::string_view target;  // cut at '?' here
  unsigned status = 0;
  double ms = 0;
  std::string_view remote;  // the peer (hub requests)
  std::string_view route;   // the route prefix (proxied requests)
  std::uint64_t conn = 0;
  std::string_view request_id;
};

// In JSON mode the message starts with this byte and holds JSON members; the JSON formatter
// (app/logging.cpp) splices them into the record, for the "access" logger only.
inline constexpr char kJsonMembersMark = '\x1e';

void write_access(spdlog::logger& log, bool json, AccessLine const& line);

}  // namespace nbhub::http
