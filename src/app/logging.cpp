#include "app/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace nbhub::app {

Loggers make_loggers(std::string const& level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto mk = [&](std::string name) {
    auto l = std::make_shared<spdlog::logger>(std::move(name), sink);
    l->set_pattern("[%L %Y-%m-%d %H:%M:%S.%e %n] %v");
    l->set_level(spdlog::level::from_str(level == "warning" ? "warn" : level == "critical" ? "critical" : level));
    l->flush_on(spdlog::level::info);
    return l;
  };
  return {mk("nbhub"), mk("access")};
}

}  // namespace nbhub::app
