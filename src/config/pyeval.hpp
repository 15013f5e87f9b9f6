#pragma once
// jupyterhub_config.py evaluated by Python (issue 22). When the literal importer
// (config/pyconfig_parser.hpp) cannot read a file, or with config_python = "always", nbhub runs
// it once at start-up in a separate `python3 -I` process with the runtime in
// config/python/nbhub_runtime.py (compiled in): a traitlets-like `c`, stand-ins for the modules
// configurations import, the real standard library. The runtime prints one JSON document:
//
//   {"assignments": [{"section", "trait", "op", "file", "line", "value"}, ...]}
//   {"error": {"file", "line", "message"}}
//
// Values are JSON, with {"$class": "a.b.C"} for classes, {"$dict": [[k, v], ...]} for dicts
// with keys JSON objects cannot hold, {"$callable": name, "file", "line"} for functions. The
// assignments then go through the same trait tables and checks as literal values
// (import_assignments), so every message names the file and line of the assignment.
// Callables given to hook traits are recorded in HubConfig::python for the hook helper
// (hub/python_hooks.hpp). This is start-up code: it blocks, bounded by eval_timeout.
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "config/diagnostic.hpp"
#include "config/pyconfig_parser.hpp"

namespace nbhub::config::pyeval {

// The runtime's Python source, as compiled in.
std::string_view runtime_source();

// A callable assigned to a trait: where the assignment and the function are.
struct CallableRef {
  std::string section, trait;  // "Spawner", "pre_spawn_hook"
  std::string name;            // the function's qualified name, "my_hook"
  std::string file;            // the assignment's file and line
  int line = 0;
};

struct Outcome {
  std::vector<py::Assignment> assignments;  // every non-callable value, in the runtime's order
  std::vector<CallableRef> callables;
  std::vector<Diagnostic> diagnostics;      // the Python error; values that cannot be read
  bool failed = false;                      // the configuration raised, or Python could not run
};

// The runtime's stdout as an Outcome. `file` names diagnostics that carry no file of their own.
Outcome parse_output(std::string_view json, std::string const& file);

// What the runtime runs: pieces of Python, each under its name in messages; `path`, when set,
// is its __file__ (and load_subconfig's directory).
struct Piece {
  std::string name;
  std::string path;
  std::string text;
};

struct Request {
  std::vector<Piece> pieces;
  std::string dir;                          // sys.path[0] and z2jh's secret/ and config/ files
  boost::json::value values;                // z2jh values (null otherwise)
  std::vector<py::Assignment> initial;      // set before the pieces run (z2jh: the chart's)
};

// The first line the runtime reads (eval and serve modes); `timeout` is the hook timeout.
std::string context_json(Request const& req, std::chrono::seconds hook_timeout);

struct Settings {
  std::string executable = "python3";
  std::chrono::seconds timeout{20};
  std::size_t max_output = 4u << 20;
};

// `name` if it holds a '/', else the first executable `name` in `path` (a PATH value).
std::optional<std::string> find_executable(std::string const& name, std::string const& path);

// Runs the runtime in eval mode with `env` as its whole environment (os.environ); a Python that
// cannot be started, a timeout, too much output or an exception each give `failed` and one
// error diagnostic.
Outcome evaluate(Request const& req, Settings const& s, std::string const& python_path,
                 std::map<std::string, std::string> const& env);

// The JSON of one assignment value as a config Value; {"$callable"} gives nullopt.
std::optional<Value> to_value(boost::json::value const& v, std::string& problem);

}  // namespace nbhub::config::pyeval
