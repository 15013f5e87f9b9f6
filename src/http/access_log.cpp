#include "http/access_log.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <fmt/format.h>
#include <spdlog/logger.h>

namespace nbhub::http {

void write_access(spdlog::logger& log, bool json, AccessLine const& l) {
  if (!log.should_log(spdlog::level::info)) return;
  auto path = l.target.substr(0, l.target.find('?'));
  if (!json) {
    std::string_view const id_key = l.request_id.empty() ? "" : " id=";
    if (!l.route.empty())
      log.info("{} {} {} {:.1f}ms route={} conn={}{}{}", l.method, path, l.status, l.ms, l.route, l.conn, id_key,
               l.request_id);
    else
      log.info("{} {} {} {:.1f}ms ip={} conn={}{}{}", l.method, path, l.status, l.ms, l.remote, l.conn, id_key,
               l.request_id);
    return;
  }
  auto q = [](std::string_view s) { return boost::json::serialize(boost::json::string(s)); };
  auto message = fmt::format("{} {} {}", l.method, path, l.status);
  log.info("{}\"message\":{},\"method\":{},\"path\":{},\"status\":{},\"duration_ms\":{:.3f},\"remote\":{},"
           "\"route\":{},\"conn\":{},\"request_id\":{}",
           kJsonMembersMark, q(message), q(l.method), q(path), l.status, l.ms, q(l.remote), q(l.route), l.conn,
           q(l.request_id));
}

}  // namespace nbhub::http
