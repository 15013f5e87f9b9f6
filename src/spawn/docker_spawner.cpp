#include "spawn/docker_spawner.hpp"

#include "spawn/spawner_overrides.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <fmt/format.h>
#include <spdlog/logger.h>

#include <cctype>

#include "spawn/local_spawner.hpp"  // pick_free_port

namespace nbhub::spawn {

namespace json = boost::json;

namespace {

std::string enc(std::string const& s) { return boost::urls::encode(s, boost::urls::unreserved_chars); }

std::optional<json::object> parse_object(std::string const& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

// Keeps the last `max_lines` lines of `text`.
std::string last_lines(std::string const& text, std::size_t max_lines) {
  std::size_t pos = text.size(), lines = 0;
  while (pos > 0) {
    auto nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) return text;
    if (nl + 1 < text.size() && ++lines > max_lines) return text.substr(nl + 1);
    pos = nl;
  }
  return text;
}

// Docker's multiplexed log stream (no TTY): 8-byte frame headers [stream, 0, 0, 0, size BE].
std::string demux_logs(std::string const& raw) {
  std::string out;
  std::size_t i = 0;
  while (i + 8 <= raw.size()) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(raw[i + k]); };
    if (b(0) > 2 || b(1) || b(2) || b(3)) return raw;  // not multiplexed after all
    std::size_t n = (std::size_t{b(4)} << 24) | (b(5) << 16) | (b(6) << 8) | b(7);
    out.append(raw, i + 8, std::min(n, raw.size() - i - 8));
    i += 8 + n;
  }
  return out;
}

}  // namespace

std::string engine_api_key(std::string const& key) {
  if (key == "mem_limit") return "Memory";
  if (key.find('_') == std::string::npos && !key.empty() &&
      std::isupper(static_cast<unsigned char>(key[0])))
    return key;
  std::string out;
  bool upper = true;
  for (char c : key) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

DockerSpawner::DockerSpawner(SpawnerConfig cfg, DockerConfig docker, http::HttpClient& http,
                             spdlog::logger& log)
    : settings_(Settings{std::move(cfg), std::move(docker)}), fixed_socket_(settings_.load()->docker.socket_path),
      http_(http), log_(log) {}

std::vector<std::string> DockerSpawner::restart_only_changes(DockerConfig const& docker) const {
  // Running containers live on the daemon behind this socket: polls and stops must keep
  // reaching it, so another daemon waits for a restart.
  if (docker.socket_path != fixed_socket_) return {"DOCKER_HOST (the Docker daemon's socket)"};
  return {};
}

void DockerSpawner::set_config(SpawnerConfig cfg, DockerConfig docker) {
  docker.socket_path = fixed_socket_;
  settings_.store(Settings{std::move(cfg), std::move(docker)});
}

std::string DockerSpawner::container_name(std::string const& user,
                                          std::string const& server) const {
  auto const settings = settings_.load();  // one reload-consistent view for this call
  auto const& d = settings->docker;
  TemplateVars vars{docker_escape(user), docker_escape(server), ""};
  auto tmpl = d.name_template;
  if (!server.empty() && tmpl.find("{servername}") == std::string::npos) tmpl += "--{servername}";
  auto name = expand_template(tmpl, vars);
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name.compare(i, 8, "{prefix}") == 0) {
      out += d.prefix;
      i += 7;
    } else {
      out += name[i];
    }
  }
  return out;
}

Result<std::shared_ptr<const DockerSpawner::Settings>> DockerSpawner::effective(SpawnRequest const& req) const {
  auto settings = settings_.load();
  if (req.trait_overrides.empty()) return settings;
  // A profile's or a hook's overrides (image, limits, volumes, ...) for this server.
  auto eff = apply_docker_overrides(*settings, req.trait_overrides);
  if (!eff) return eff.error();
  return std::make_shared<const Settings>(std::move(*eff));
}

Result<json::object> DockerSpawner::create_body(SpawnRequest const& req, int listen_port,
                                                std::string const& service_url) const {
  auto const settings = effective(req);  // one reload-consistent view for this call
  if (!settings) return settings.error();
  auto const& d = (*settings)->docker;
  auto const& c = (*settings)->cfg;
  // DockerSpawner's env_keep is empty: the host's PATH or VIRTUAL_ENV mean nothing inside an
  // image.
  SpawnerConfig env_cfg = c;
  env_cfg.env_keep.clear();
  auto env = build_environment(env_cfg, req, service_url,
                               [](std::string const&) { return std::optional<std::string>{}; });
  if (!env) return env.error();
  json::array env_list;
  for (auto const& [k, v] : *env) env_list.emplace_back(k + "=" + v);

  json::array cmd;
  for (auto const& part : c.cmd) cmd.emplace_back(part);
  for (auto const& a : c.args) cmd.emplace_back(a);

  TemplateVars vars{docker_escape(req.user), docker_escape(req.server_name), req.service_prefix};
  json::array binds;
  for (auto const& v : d.volumes) {
    auto bind = expand_template(v.source, vars) + ":" + expand_template(v.target, vars);
    if (v.read_only) bind += ":ro";
    binds.emplace_back(bind);
  }

  json::object host{{"NetworkMode", d.network_name}};
  if (!binds.empty()) host["Binds"] = std::move(binds);
  if (d.cpu_limit > 0) host["NanoCpus"] = static_cast<std::int64_t>(d.cpu_limit * 1e9);
  if (d.mem_limit > 0) host["Memory"] = d.mem_limit;
  for (auto const& [k, v] : d.extra_host_config) host[engine_api_key(std::string(k))] = v;

  json::object body{
      {"Image", d.image},
      {"Env", std::move(env_list)},
      {"Labels",
       json::object{{"org.jupyter.service", "jupyter-notebook"},
                    {"nbhub.user", req.user},
                    {"nbhub.server_name", req.server_name}}},
  };
  if (!cmd.empty()) body["Cmd"] = std::move(cmd);
  if (d.network_name != "host")
    body["ExposedPorts"] = json::object{{std::to_string(listen_port) + "/tcp", json::object{}}};
  for (auto const& [k, v] : d.extra_create_kwargs) {
    auto key = engine_api_key(std::string(k));
    if (key == "HostConfig" && v.is_object()) {
      for (auto const& [hk, hv] : v.as_object()) host[engine_api_key(std::string(hk))] = hv;
      continue;
    }
    body[key] = v;
  }
  body["HostConfig"] = std::move(host);
  return body;
}

net::awaitable<Result<DockerSpawner::Reply>> DockerSpawner::call(std::string method,
                                                                 std::string path,
                                                                 std::string body,
                                                                 std::chrono::seconds timeout) {
  auto const settings = settings_.load();  // one reload-consistent view for this call
  auto const& d = settings->docker;
  http::ClientRequest req;
  req.method = std::move(method);
  req.url = "http://docker/" + d.api_version + path;
  req.unix_socket = d.socket_path;
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  req.body = std::move(body);
  req.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  auto r = co_await http_.send(std::move(req));
  if (!r) {
    auto e = r.error();
    e.message = "docker: " + e.message + " (is the Docker daemon running, and may nbhub use " +
                d.socket_path + "?)";
    co_return e;
  }
  co_return Reply{r->status, std::move(r->body)};
}

Error DockerSpawner::daemon_error(std::string const& what, Reply const& r) {
  std::string msg;
  if (auto o = parse_object(r.body); o && o->contains("message") && o->at("message").is_string())
    msg = std::string(o->at("message").as_string());
  else
    msg = r.body.substr(0, 300);
  Errc code = r.status == 400 || r.status == 404 ? Errc::config
              : r.status >= 500 || r.status == 409 ? Errc::unavailable
                                                   : Errc::internal;
  return make_error(code, fmt::format("docker: {}: {} (HTTP {})", what, msg, r.status));
}

net::awaitable<Result<void>> DockerSpawner::remove_container(std::string const& id_or_name) {
  auto const settings = settings_.load();  // one reload-consistent view for this call
  auto const& d = settings->docker;
  auto r = co_await call("DELETE", "/containers/" + enc(id_or_name) + "?force=true", "",
                         d.api_timeout);
  if (!r) co_return r.error();
  if (r->status == 204 || r->status == 404) co_return Result<void>{};
  co_return daemon_error("remove container " + id_or_name, *r);
}

net::awaitable<Result<void>> DockerSpawner::ensure_image(DockerConfig const& d, ProgressSink& sink) {
  auto const& image = d.image;
  if (d.pull_policy != "always") {
    auto r = co_await call("GET", "/images/" + enc(image) + "/json", "", d.api_timeout);
    if (!r) co_return r.error();
    if (r->status == 200) co_return Result<void>{};
    if (r->status != 404) co_return daemon_error("inspect image " + image, *r);
    if (d.pull_policy == "never")
      co_return make_error(Errc::config, "docker: image " + image +
                                             " is not present and pull_policy is never; "
                                             "pull or build it on the Docker host");
  }
  // fromImage=name&tag=tag; a digest (name@sha256:...) goes whole in fromImage.
  std::string name = image, tag = "latest";
  auto slash = image.rfind('/');
  auto colon = image.rfind(':');
  if (image.find('@') != std::string::npos) {
    tag.clear();
  } else if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    name = image.substr(0, colon);
    tag = image.substr(colon + 1);
  }
  sink.progress({10, "Pulling image " + image});
  log_.info("docker: pulling image {}", image);
  auto path = "/images/create?fromImage=" + enc(name) + (tag.empty() ? "" : "&tag=" + enc(tag));
  auto r = co_await call("POST", path, "", d.pull_timeout);
  if (!r) co_return r.error();
  if (r->status != 200) co_return daemon_error("pull image " + image, *r);
  // The reply is a stream of JSON progress objects; a failure arrives as {"error": ...}
  // inside a 200 reply.
  std::size_t start = 0, events = 0;
  while (start < r->body.size()) {
    auto end = r->body.find('\n', start);
    auto line = r->body.substr(start, end == std::string::npos ? std::string::npos : end - start);
    start = end == std::string::npos ? r->body.size() : end + 1;
    auto o = parse_object(line);
    if (!o) continue;
    ++events;
    if (auto e = o->if_contains("error"); e && e->is_string())
      co_return make_error(Errc::config, "docker: pull image " + image + ": " +
                                             std::string(e->as_string()));
  }
  sink.progress({40, fmt::format("Pulled image {} ({} progress events)", image, events)});
  co_return Result<void>{};
}

net::awaitable<Result<Started>> DockerSpawner::start(SpawnRequest req, ProgressSink& sink) {
  auto const settings = effective(req);  // one reload-consistent view for this call
  if (!settings) co_return settings.error();
  auto const& d = (*settings)->docker;
  if (req.user.empty() || !req.service_prefix.starts_with('/') || !req.service_prefix.ends_with('/'))
    co_return make_error(Errc::bad_request, "docker: a spawn needs a user and a /prefix/");
  auto name = container_name(req.user, req.server_name);

  // A container left by an earlier run (remove = false, or a crash) would clash by name.
  if (auto r = co_await remove_container(name); !r) co_return r.error();
  if (auto r = co_await ensure_image(d, sink); !r) co_return r.error();

  bool host_net = d.network_name == "host";
  int port = d.port;
  if (host_net) {
    auto p = pick_free_port("127.0.0.1");
    if (!p) co_return p.error();
    port = *p;
  }
  std::string service_url = host_net ? "http://127.0.0.1:" : "http://0.0.0.0:";
  service_url += std::to_string(port) + req.service_prefix;
  auto body = create_body(req, port, service_url);
  if (!body) co_return body.error();

  sink.progress({50, "Creating container " + name});
  auto created = co_await call("POST", "/containers/create?name=" + enc(name),
                               json::serialize(*body), d.api_timeout);
  if (!created) co_return created.error();
  if (created->status != 201) co_return daemon_error("create container " + name, *created);
  auto id_obj = parse_object(created->body);
  if (!id_obj || !id_obj->contains("Id") || !id_obj->at("Id").is_string())
    co_return make_error(Errc::internal, "docker: create container " + name + ": no Id in the reply");
  std::string id(id_obj->at("Id").as_string());

  auto started = co_await call("POST", "/containers/" + id + "/start", "", d.api_timeout);
  if (!started) co_return started.error();
  if (started->status != 204 && started->status != 304) {
    auto e = daemon_error("start container " + name, *started);
    (void)co_await remove_container(id);
    co_return e;
  }
  auto inspected = co_await call("GET", "/containers/" + id + "/json", "", d.api_timeout);
  if (!inspected) co_return inspected.error();
  auto info = parse_object(inspected->body);
  if (inspected->status != 200 || !info)
    co_return daemon_error("inspect container " + name, *inspected);
  // A container that is already gone (bad Cmd, missing file) fails the spawn here, with its
  // exit code and last lines, rather than after http_timeout.
  if (auto* st = info->if_contains("State"); st && st->is_object()) {
    auto const& s = st->as_object();
    auto running = s.if_contains("Running");
    if (running && running->is_bool() && !running->as_bool()) {
      auto code = s.if_contains("ExitCode");
      json::object tail_state;  // named: GCC 12 mishandles braced temporaries in co_await
      tail_state["container_id"] = id;
      auto tail = co_await output_tail(std::move(tail_state));
      (void)co_await remove_container(id);
      co_return make_error(Errc::unavailable,
                           fmt::format("docker: container {} exited at once with code {}{}{}",
                                       name, code && code->is_int64() ? code->as_int64() : -1,
                                       tail.empty() ? "" : "; its last output:\n", tail));
    }
  }
  std::string ip = "127.0.0.1";
  if (!host_net) {
    ip.clear();
    auto* ns = info->if_contains("NetworkSettings");
    auto* nets = ns && ns->is_object() ? ns->as_object().if_contains("Networks") : nullptr;
    auto* net = nets && nets->is_object() ? nets->as_object().if_contains(d.network_name) : nullptr;
    if (net && net->is_object())
      if (auto a = net->as_object().if_contains("IPAddress"); a && a->is_string())
        ip = std::string(a->as_string());
    if (ip.empty()) {
      (void)co_await remove_container(id);
      co_return make_error(Errc::config, "docker: container " + name + " has no address on network " +
                                             d.network_name +
                                             "; check DockerSpawner.network_name");
    }
  }
  auto url = "http://" + ip + ":" + std::to_string(port);
  Started out{url, json::object{{"container_id", id}, {"container_name", name}, {"url", url}}};
  log_.info("docker: started container {} ({}) for {} at {}", name, id.substr(0, 12), req.user, url);
  sink.progress({60, "Container " + name + " started"});
  co_return out;
}

net::awaitable<std::optional<int>> DockerSpawner::poll(json::object state) {
  auto const settings = settings_.load();  // one reload-consistent view for this call
  auto const& d = settings->docker;
  auto id = state_string(state, "container_id");
  if (id.empty()) co_return 0;
  auto r = co_await call("GET", "/containers/" + id + "/json", "", d.api_timeout);
  if (!r) {
    log_.warn("docker: cannot poll container {}: {}", id.substr(0, 12), r.error().message);
    co_return std::nullopt;  // cannot tell: assume it still runs
  }
  if (r->status == 404) co_return 0;
  auto info = parse_object(r->body);
  if (r->status != 200 || !info) {
    log_.warn("docker: cannot poll container {}: HTTP {}", id.substr(0, 12), r->status);
    co_return std::nullopt;
  }
  auto* st = info->if_contains("State");
  if (!st || !st->is_object()) co_return std::nullopt;
  auto const& s = st->as_object();
  if (auto running = s.if_contains("Running"); running && running->is_bool() && running->as_bool())
    co_return std::nullopt;
  if (auto code = s.if_contains("ExitCode"); code && code->is_int64())
    co_return static_cast<int>(code->as_int64());
  co_return 0;
}

net::awaitable<Result<void>> DockerSpawner::stop(json::object state, bool now) {
  auto const settings = settings_.load();  // one reload-consistent view for this call
  auto const& d = settings->docker;
  auto const& c = settings->cfg;
  auto id = state_string(state, "container_id");
  if (id.empty()) co_return Result<void>{};
  auto grace = now ? std::chrono::seconds{0} : c.term_timeout;
  auto r = co_await call("POST", "/containers/" + id + "/stop?t=" + std::to_string(grace.count()),
                         "", d.api_timeout + grace);
  if (!r) co_return make_error(Errc::unavailable, r.error().message);
  if (r->status != 204 && r->status != 304 && r->status != 404) {
    auto e = daemon_error("stop container " + state_string(state, "container_name"), *r);
    e.code = Errc::unavailable;
    co_return e;
  }
  log_.info("docker: stopped container {}", state_string(state, "container_name"));
  if (d.remove && r->status != 404) {
    if (auto removed = co_await remove_container(id); !removed) {
      auto e = removed.error();
      e.code = Errc::unavailable;
      co_return e;
    }
  }
  co_return Result<void>{};
}

Result<void> DockerSpawner::adopt(json::object const& state) {
  if (state_string(state, "container_id").empty())
    return make_error(Errc::bad_request, "docker: the state names no container_id");
  return {};
}

net::awaitable<std::string> DockerSpawner::output_tail(json::object state) {
  auto const settings = settings_.load();  // one reload-consistent view for this call
  auto const& d = settings->docker;
  auto id = state_string(state, "container_id");
  if (id.empty()) co_return "";
  auto r = co_await call("GET", "/containers/" + id + "/logs?stdout=1&stderr=1&tail=40", "",
                         d.api_timeout);
  if (!r || r->status != 200) co_return "";
  co_return last_lines(demux_logs(r->body), 20);
}

}  // namespace nbhub::spawn
