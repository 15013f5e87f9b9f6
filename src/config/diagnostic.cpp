#include "config/diagnostic.hpp"

#include <fmt/format.h>

namespace nbhub::config {

std::string Diagnostic::to_string() const {
  std::string out;
  if (!file.empty()) out = line > 0 ? fmt::format("{}:{}: ", file, line) : file + ": ";
  if (!error) out += "warning: ";
  if (!option.empty()) out += option + ": ";
  return out + message;
}

}  // namespace nbhub::config
