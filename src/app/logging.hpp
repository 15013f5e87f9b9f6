#pragma once
#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace nbhub::app {

struct Loggers {
  std::shared_ptr<spdlog::logger> hub;     // "nbhub"
  std::shared_ptr<spdlog::logger> access;  // "access": one line per request
};

// Loggers writing to stderr with JupyterHub-like "[I 2026-11-25 08:00:00.123 nbhub]" prefixes.
// Library code receives these by reference; nothing uses spdlog's default logger.
Loggers make_loggers(std::string const& level);

}  // namespace nbhub::app
