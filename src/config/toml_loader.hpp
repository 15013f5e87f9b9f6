#pragma once
// Reads nbhub.toml (toml++ 3.3, the compiled Debian library) into a ConfigBuilder: unknown keys
// are warnings with a spelling suggestion, bad values errors, both naming file:line and option.
#include <string>
#include <string_view>

#include "config/builder.hpp"

namespace nbhub::config {

// `file` names the source in diagnostics. Every problem is reported, not only the first; a TOML
// syntax error ends reading (toml++ stops there) with one error at its line.
void load_toml(std::string_view text, std::string const& file, ConfigBuilder& b);

}  // namespace nbhub::config
