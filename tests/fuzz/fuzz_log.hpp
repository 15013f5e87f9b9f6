#pragma once
// A logger for fuzz targets: drops every line, except that a line saying an exception escaped
// (the code's own last-resort handlers log those) is a finding and aborts.
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>
#include <mutex>

namespace nbhub::fuzz {

class AbortOnExceptionSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(spdlog::details::log_msg const& msg) override {
    std::string_view text(msg.payload.data(), msg.payload.size());
    if (msg.level >= spdlog::level::err && text.find("exception") != std::string_view::npos) std::abort();
  }
  void flush_() override {}
};

inline spdlog::logger& quiet_logger() {
  static auto log = std::make_shared<spdlog::logger>("fuzz", std::make_shared<AbortOnExceptionSink>());
  return *log;
}

}  // namespace nbhub::fuzz
