#include "app/logging.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <fmt/chrono.h>
#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "http/access_log.hpp"

namespace nbhub::app {

namespace {

// One JSON object per record. The message is escaped as a JSON string; a record of the
// "access" logger whose message starts with http::kJsonMembersMark already holds JSON members
// (built by http::write_access) and is spliced in as they are.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(spdlog::details::log_msg const& msg, spdlog::memory_buf_t& dest) override {
    auto const t = msg.time;
    auto const secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
    auto const ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - secs).count();
    std::string_view payload(msg.payload.data(), msg.payload.size());
    std::string_view logger(msg.logger_name.data(), msg.logger_name.size());
    auto level = spdlog::level::to_string_view(msg.level);
    fmt::format_to(std::back_inserter(dest), "{{\"time\":\"{:%Y-%m-%dT%H:%M:%S}.{:03}Z\",\"level\":\"{}\",\"logger\":{},",
                   fmt::gmtime(std::chrono::system_clock::to_time_t(secs)), ms,
                   std::string_view(level.data(), level.size()), boost::json::serialize(boost::json::string(logger)));
    if (logger == "access" && !payload.empty() && payload.front() == http::kJsonMembersMark) {
      payload.remove_prefix(1);
      dest.append(payload.data(), payload.data() + payload.size());
    } else {
      auto m = boost::json::serialize(boost::json::string(payload));
      dest.append(std::string_view("\"message\":"));
      dest.append(m.data(), m.data() + m.size());
    }
    dest.append(std::string_view("}\n"));
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

Loggers make_loggers(LogOptions const& opts) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto mk = [&](std::string name) {
    auto l = std::make_shared<spdlog::logger>(std::move(name), sink);
    if (opts.format == "json") l->set_formatter(std::make_unique<JsonFormatter>());
    else l->set_pattern("[%L %Y-%m-%d %H:%M:%S.%e %n] %v");
    l->flush_on(spdlog::level::info);
    return l;
  };
  Loggers out{mk("nbhub"), mk("access")};
  set_log_levels(out, opts.level, opts.access);
  return out;
}

void set_log_levels(Loggers const& logs, std::string const& level, bool access) {
  auto const l = spdlog::level::from_str(level == "warning" ? "warn" : level);
  logs.hub->set_level(l);
  logs.access->set_level(access ? l : spdlog::level::off);
}

}  // namespace nbhub::app
