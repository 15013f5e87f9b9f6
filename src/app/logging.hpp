#pragma once
#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace nbhub::app {

struct Loggers {
  std::shared_ptr<spdlog::logger> hub;     // "nbhub"
  std::shared_ptr<spdlog::logger> access;  // "access": one line per request
};

struct LogOptions {
  std::string level = "info";
  // "text": JupyterHub-like "[I 2026-11-25 08:00:00.123 nbhub] message" lines; "json": one
  // object per line, {"time" (UTC, ISO 8601), "level", "logger", "message"}, access lines with
  // their fields too (http/access_log.hpp).
  std::string format = "text";
  bool access = true;  // false: the access logger is off
};

// Loggers writing to stderr. Library code receives these by reference; nothing uses spdlog's
// default logger.
Loggers make_loggers(LogOptions const& opts);
// log_level and access_log, at start-up and on a configuration reload: spdlog's level is an
// atomic, so lines being written keep going and the next ones follow the new level.
void set_log_levels(Loggers const& logs, std::string const& level, bool access);
inline Loggers make_loggers(std::string const& level) { return make_loggers(LogOptions{.level = level}); }

}  // namespace nbhub::app
