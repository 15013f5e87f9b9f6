#include "config/pyeval.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/pyeval_runtime_source.hpp"

namespace nbhub::config::pyeval {

namespace json = boost::json;

std::string_view runtime_source() { return embedded::kRuntimePy; }

namespace {

std::string str(json::object const& o, std::string_view key) {
  auto const* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
int num(json::object const& o, std::string_view key) {
  auto const* v = o.if_contains(key);
  return v && v->is_int64() ? static_cast<int>(v->as_int64()) : 0;
}

py::Assignment::Op op_of(std::string_view op) {
  using Op = py::Assignment::Op;
  if (op == "update") return Op::update;
  if (op == "append") return Op::append;
  if (op == "extend") return Op::extend;
  if (op == "add") return Op::add;
  // traitlets' prepend on an unset list puts the items first; read as an extend, which only
  // differs when append and prepend are both used on one unset trait.
  if (op == "prepend") return Op::extend;
  return Op::assign;
}

json::value to_json_value(Value const& v) {
  switch (v.kind) {
    case Value::Kind::none: return nullptr;
    case Value::Kind::boolean: return v.boolean;
    case Value::Kind::integer: return v.integer;
    case Value::Kind::real: return v.real;
    case Value::Kind::string: return json::string(v.string);
    case Value::Kind::class_ref: return json::object{{"$class", v.string}};
    case Value::Kind::list: {
      json::array a;
      for (auto const& x : v.items) a.push_back(to_json_value(x));
      return a;
    }
    case Value::Kind::dict: {
      json::array pairs;
      for (auto const& [k, x] : v.entries) pairs.push_back(json::array{to_json_value(k), to_json_value(x)});
      return json::object{{"$dict", std::move(pairs)}};
    }
  }
  return nullptr;
}

}  // namespace

std::optional<Value> to_value(json::value const& v, std::string& problem) {
  switch (v.kind()) {
    case json::kind::null: return Value::none();
    case json::kind::bool_: return Value::of(v.get_bool());
    case json::kind::int64: return Value::of(static_cast<std::int64_t>(v.get_int64()));
    case json::kind::uint64:
      problem = "an integer too large for nbhub";
      return std::nullopt;
    case json::kind::double_: return Value::of_real(v.get_double());
    case json::kind::string: return Value::of(std::string(v.get_string()));
    case json::kind::array: {
      Value out = Value::list();
      for (auto const& x : v.get_array()) {
        auto item = to_value(x, problem);
        if (!item) return std::nullopt;
        out.items.push_back(std::move(*item));
      }
      return out;
    }
    case json::kind::object: {
      auto const& o = v.get_object();
      if (auto const* c = o.if_contains("$class"); c && c->is_string())
        return Value::class_ref(std::string(c->get_string()));
      if (o.contains("$callable")) {
        problem = fmt::format("a function ({}) inside a value is not supported", str(o, "$callable"));
        return std::nullopt;
      }
      Value out = Value::dict();
      if (auto const* pairs = o.if_contains("$dict"); pairs && pairs->is_array()) {
        for (auto const& p : pairs->get_array()) {
          if (!p.is_array() || p.get_array().size() != 2) {
            problem = "a malformed $dict";
            return std::nullopt;
          }
          auto k = to_value(p.get_array()[0], problem);
          auto x = k ? to_value(p.get_array()[1], problem) : std::nullopt;
          if (!x) return std::nullopt;
          out.entries.emplace_back(std::move(*k), std::move(*x));
        }
        return out;
      }
      for (auto const& [k, x] : o) {
        auto item = to_value(x, problem);
        if (!item) return std::nullopt;
        out.entries.emplace_back(Value::of(std::string(k)), std::move(*item));
      }
      return out;
    }
  }
  problem = "an unknown JSON value";
  return std::nullopt;
}

Outcome parse_output(std::string_view text, std::string const& file) {
  Outcome out;
  auto fail = [&](std::string f, int line, std::string message) {
    out.failed = true;
    out.diagnostics.push_back({f.empty() ? file : std::move(f), line, "", std::move(message), true});
    return out;
  };
  boost::system::error_code ec;
  auto doc = json::parse(text, ec);
  if (ec || !doc.is_object())
    return fail("", 0, "Python evaluation: the runtime's answer is not a JSON object (" +
                           (ec ? ec.message() : std::string("wrong shape")) + ")");
  auto const& o = doc.get_object();
  if (auto const* e = o.if_contains("error"); e && e->is_object()) {
    auto const& eo = e->get_object();
    return fail(str(eo, "file"), num(eo, "line"), str(eo, "message"));
  }
  auto const* list = o.if_contains("assignments");
  if (!list || !list->is_array())
    return fail("", 0, "Python evaluation: the runtime's answer has no \"assignments\"");
  for (auto const& item : list->get_array()) {
    if (!item.is_object()) continue;
    auto const& a = item.get_object();
    py::Assignment as;
    as.section = str(a, "section");
    as.trait = str(a, "trait");
    as.file = str(a, "file");
    as.line = num(a, "line");
    auto op = str(a, "op");
    as.op = op_of(op);
    if (as.section.empty() || as.trait.empty()) continue;
    std::string const option = as.section + "." + as.trait;
    std::string const where_file = as.file.empty() ? file : as.file;
    if (auto const* u = a.if_contains("unsupported"); u && u->is_string()) {
      out.diagnostics.push_back({where_file, as.line, option, std::string(u->get_string()), true});
      continue;
    }
    auto const* v = a.if_contains("value");
    if (!v) continue;
    if (v->is_object() && v->get_object().contains("$callable")) {
      if (as.op != py::Assignment::Op::assign) {
        out.diagnostics.push_back({where_file, as.line, option, "a function can only be assigned", true});
        continue;
      }
      out.callables.push_back({as.section, as.trait, str(v->get_object(), "$callable"), as.file, as.line});
      continue;
    }
    if (v->is_object())
      if (auto sub = str(v->get_object(), "subclass"); !sub.empty()) {
        // An authenticator subclass's check_allowed / check_blocked_users run in the hook
        // helper (docs/hooks.md); nbhub provides the base class's behaviour for the rest.
        bool const authenticator = as.section == "JupyterHub" && as.trait == "authenticator_class";
        std::vector<std::string> not_run;
        if (auto const* ms = v->get_object().if_contains("methods"); ms && ms->is_array())
          for (auto const& m : ms->get_array()) {
            if (!m.is_string()) continue;
            std::string const name(m.get_string());
            if (authenticator && (name == "check_allowed" || name == "check_blocked_users"))
              out.callables.push_back({"Authenticator", name, sub + "." + name, as.file, as.line});
            else
              not_run.push_back(name);
          }
        auto const base = str(v->get_object(), "$class");
        if (!not_run.empty())
          out.diagnostics.push_back(
              {where_file, as.line, option,
               fmt::format("{} is a subclass of {}: nbhub provides {}'s behaviour{}, and these methods {} "
                           "defines are not run: {}",
                           sub, base, base,
                           authenticator ? " and runs its check_allowed and check_blocked_users" : "", sub,
                           fmt::join(not_run, ", ")),
               false});
      }
    std::string problem;
    auto value = to_value(*v, problem);
    if (!value) {
      out.diagnostics.push_back({where_file, as.line, option, problem, true});
      continue;
    }
    as.value = std::move(*value);
    out.assignments.push_back(std::move(as));
  }
  return out;
}

std::string context_json(Request const& req, std::chrono::seconds hook_timeout) {
  json::array files;
  for (auto const& p : req.pieces) {
    // The text goes along even when the file has a path: the hook helper then runs exactly
    // what was evaluated, whatever happened to the file since.
    json::array f{json::value(json::string(p.name)),
                  p.path.empty() ? json::value(nullptr) : json::value(json::string(p.path)),
                  json::value(json::string(p.text))};
    files.push_back(std::move(f));
  }
  json::array initial;
  for (auto const& a : req.initial) {
    if (a.op != py::Assignment::Op::assign) continue;  // the chart's settings are plain values
    initial.push_back(json::object{{"section", a.section}, {"trait", a.trait}, {"file", a.file},
                                   {"line", a.line}, {"value", to_json_value(a.value)}});
  }
  json::object ctx{{"files", std::move(files)}, {"dir", req.dir}, {"values", req.values},
                   {"initial", std::move(initial)}, {"timeout", hook_timeout.count()}};
  return json::serialize(ctx) + "\n";
}

std::optional<std::string> find_executable(std::string const& name, std::string const& path) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos)
    return ::access(name.c_str(), X_OK) == 0 ? std::optional(name) : std::nullopt;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    auto dir = path.substr(start, end - start);
    if (!dir.empty()) {
      auto candidate = dir + "/" + name;
      std::error_code ec;
      if (std::filesystem::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0)
        return candidate;
    }
    start = end + 1;
  }
  return std::nullopt;
}

namespace {

struct Ran {
  std::string out;
  int status = -1;  // exit code, or -signal
  std::string problem;  // could not run, timed out, too much output
};

// Runs `python -I -c SOURCE eval`, feeding `input` on stdin, reading stdout up to `max`,
// killing it at `timeout`. stderr is inherited: what the configuration prints shows there.
Ran run(std::string const& python, std::string const& input, std::chrono::seconds timeout,
        std::size_t max, std::map<std::string, std::string> const& env) {
  Ran r;
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) < 0) {
    r.problem = fmt::format("pipe: {}", std::strerror(errno));
    return r;
  }
  if (::pipe2(out, O_CLOEXEC) < 0) {
    r.problem = fmt::format("pipe: {}", std::strerror(errno));
    ::close(in[0]);
    ::close(in[1]);
    return r;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::string source(runtime_source());
  std::vector<std::string> args{python, "-I", "-c", source, "eval"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (auto const& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, python.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    r.problem = fmt::format("could not run {}: {}", python, std::strerror(rc));
    return r;
  }
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  std::size_t written = 0;
  auto const deadline = std::chrono::steady_clock::now() + timeout;
  bool in_open = true;
  char buf[65536];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.problem = fmt::format("did not finish within {} s (python.eval_timeout_seconds)", timeout.count());
      break;
    }
    pollfd fds[2] = {{out[0], POLLIN, 0}, {in_open ? in[1] : -1, POLLOUT, 0}};
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0) {
      if (errno == EINTR) continue;
      r.problem = fmt::format("poll: {}", std::strerror(errno));
      break;
    }
    if (in_open && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      auto n = ::write(in[1], input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) written = input.size();  // it stopped reading
      if (written == input.size()) {
        ::close(in[1]);
        in_open = false;
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      auto n = ::read(out[0], buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) break;  // EOF: it exited (or closed stdout)
      r.out.append(buf, static_cast<std::size_t>(n));
      if (r.out.size() > max) {
        r.problem = fmt::format("answered with more than {} bytes (python.max_output_bytes)", max);
        break;
      }
    }
  }
  if (in_open) ::close(in[1]);
  ::close(out[0]);
  if (!r.problem.empty()) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return r;
}

}  // namespace

Outcome evaluate(Request const& req, Settings const& s, std::string const& python_path,
                 std::map<std::string, std::string> const& env) {
  std::string const file = req.pieces.empty() ? std::string() : req.pieces.front().name;
  auto ran = run(python_path, context_json(req, std::chrono::seconds{0}), s.timeout, s.max_output, env);
  if (!ran.problem.empty() || ran.out.empty()) {
    Outcome o;
    o.failed = true;
    o.diagnostics.push_back(
        {file, 0, "",
         fmt::format("Python evaluation ({}): {}", python_path,
                     !ran.problem.empty() ? ran.problem
                                          : fmt::format("exited with status {} and no answer", ran.status)),
         true});
    return o;
  }
  return parse_output(ran.out, file);
}

}  // namespace nbhub::config::pyeval
