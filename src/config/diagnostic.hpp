#pragma once
// One finding about the configuration: where it is, which option, what was expected.
// Loading collects every finding instead of stopping at the first (STYLE.md §2, "validation
// that reports every error"), so an operator fixes a config in one round.
#include <string>

namespace nbhub::config {

struct Diagnostic {
  std::string file;    // a path, or "environment" / "command line"; "" when not tied to a source
  int line = 0;        // 1-based; 0 = no line
  std::string option;  // "auth.providers[0].kind", "JupyterHub.port", "NBHUB_PORT", "--port"
  std::string message; // what was expected; never a secret value
  bool error = true;   // false: a warning; loading goes on

  // "nbhub.toml:12: auth.providers[0].kind: expected one of generic, oidc, cognito, custos,
  // cilogon, got \"cogito\"" ; warnings read "file:line: warning: option: message".
  std::string to_string() const;
};

}  // namespace nbhub::config
