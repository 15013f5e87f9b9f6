#include "config/pyconfig.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <tuple>

#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include "config/pyconfig_parser.hpp"
#include "config/pyconfig_tables.hpp"
#include "config/text.hpp"

namespace nbhub::config {

namespace {

using py::ClassInfo;
using py::Role;
using py::Special;
using py::TraitInfo;

// The value of one c.Section.trait after every statement about it (=, +=, .update(), ...).
struct Merged {
  std::string section;
  std::string trait;
  Value value;
  int line = 0;      // the last statement that changed it
  std::string file;  // ... and its source, when not the imported file (py::Assignment::file)
};

bool contains(std::vector<std::string_view> const& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool is_auth_section(std::string_view s) {
  return s.ends_with("Authenticator");  // Authenticator, OAuthenticator, GitHubOAuthenticator...
}
bool is_spawner_section(std::string_view s) { return s.ends_with("Spawner"); }

std::string class_list(Role role) {
  std::vector<std::string> names, aliases;
  for (auto const& c : py::known_classes()) {
    if (c.role != role) continue;
    if (role == Role::spawner && c.name == "SimpleLocalProcessSpawner") continue;
    names.emplace_back(c.name);
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

class Importer {
 public:
  Importer(std::string const& file, ConfigBuilder& b) : file_(file), b_(b) {}

  void run(std::vector<py::Assignment> const& assignments) {
    merge(assignments);
    auto const* auth_class = find("JupyterHub", "authenticator_class");
    auto const* spawner_class = find("JupyterHub", "spawner_class");
    auth_ = auth_class ? resolve_class(*auth_class, Role::authenticator) : nullptr;
    if (auth_) {
      provider_ = b_.add_provider(origin(*auth_class));
      b_.set_provider(provider_, "name", Value::of("default"), origin(*auth_class));
      b_.set_provider(provider_, "kind", Value::of(std::string(auth_->kind)), origin(*auth_class));
    }
    spawner_ = spawner_class ? resolve_class(*spawner_class, Role::spawner)
                             : py::find_class("LocalProcessSpawner", Role::spawner);
    if (spawner_class && spawner_)
      b_.set("spawner.kind", Value::of(std::string(spawner_->kind)), origin(*spawner_class));

    std::vector<Merged const*> hub, auth, spawner;
    for (auto const& m : merged_) {
      if (m.section == "JupyterHub")
        hub.push_back(&m);
      else if (is_auth_section(m.section))
        auth.push_back(&m);
      else if (is_spawner_section(m.section))
        spawner.push_back(&m);
      else
        other_section(m);
    }
    jupyterhub(hub);
    authenticator(auth, auth_class != nullptr);
    spawner_traits(spawner, spawner_class);
  }

 private:
  Origin origin(Merged const& m) const {
    return Origin{m.file.empty() ? file_ : m.file, m.line, m.section + "." + m.trait, Layer::file,
                  true};
  }
  Merged const* find(std::string_view section, std::string_view trait) const {
    for (auto const& m : merged_)
      if (m.section == section && m.trait == trait) return &m;
    return nullptr;
  }

  void merge(std::vector<py::Assignment> const& assignments) {
    using Op = py::Assignment::Op;
    for (auto const& a : assignments) {
      auto it = std::find_if(merged_.begin(), merged_.end(), [&](Merged const& m) {
        return m.section == a.section && m.trait == a.trait;
      });
      bool fresh = it == merged_.end();
      Merged m = fresh ? Merged{a.section, a.trait, Value::none(), a.line, a.file} : *it;
      m.line = a.line;
      m.file = a.file;
      Origin where{a.file.empty() ? file_ : a.file, a.line, a.section + "." + a.trait, Layer::file,
                   true};
      auto& cur = m.value;
      switch (a.op) {
        case Op::assign: cur = a.value; break;
        case Op::update:
          // traitlets merges an update on an unset trait into the default: empty here.
          if (cur.kind == Value::Kind::none) cur = Value::dict();
          if (cur.kind != Value::Kind::dict || a.value.kind != Value::Kind::dict) {
            b_.error(where, ".update() needs a dict value and a dict argument");
            continue;
          }
          for (auto const& entry : a.value.entries) {
            auto const& [k, v] = entry;
            auto e = std::find_if(cur.entries.begin(), cur.entries.end(), [&](auto const& kv) {
              return kv.first.kind == entry.first.kind && python_str(kv.first) == python_str(entry.first);
            });
            if (e != cur.entries.end())
              e->second = v;
            else
              cur.entries.emplace_back(k, v);
          }
          break;
        case Op::append:
        case Op::add:
          if (cur.kind == Value::Kind::none) cur = Value::list();
          if (cur.kind != Value::Kind::list) {
            b_.error(where, "can only .append()/.add() to a list or set");
            continue;
          }
          cur.items.push_back(a.value);
          break;
        case Op::extend:
        case Op::iadd:
          if (cur.kind == Value::Kind::none && a.value.kind == Value::Kind::list)
            cur = Value::list();
          if (cur.kind == Value::Kind::list && a.value.kind == Value::Kind::list) {
            cur.items.insert(cur.items.end(), a.value.items.begin(), a.value.items.end());
          } else if (a.op == Op::iadd && cur.kind == Value::Kind::string &&
                     a.value.kind == Value::Kind::string) {
            cur.string += a.value.string;
          } else if (a.op == Op::iadd && cur.kind == Value::Kind::integer &&
                     a.value.kind == Value::Kind::integer) {
            cur.integer += a.value.integer;
          } else {
            b_.error(where, "+= and .extend() need a list on both sides here");
            continue;
          }
          break;
      }
      if (fresh)
        merged_.push_back(std::move(m));
      else
        *it = std::move(m);
    }
  }

  ClassInfo const* resolve_class(Merged const& m, Role role) {
    auto const& v = m.value;
    char const* what = role == Role::authenticator ? "an authenticator" : "a spawner";
    if (v.kind != Value::Kind::class_ref && v.kind != Value::Kind::string) {
      // z2jh values: YAML reads a bare `null` as no value, not as the entry point "null".
      bool const bare_null = v.kind == Value::Kind::none && role == Role::authenticator;
      b_.error(origin(m), fmt::format("expected a class or a class name, got {}{}",
                                      describe(v, true),
                                      bare_null ? " (for NullAuthenticator in YAML, write \"null\" "
                                                  "in quotes)"
                                                : ""));
      return nullptr;
    }
    if (auto const* c = py::find_class(v.string, role)) return c;
    // Another import path for a known class, e.g. `from oauthenticator import ...` variants.
    auto dot = v.string.rfind('.');
    if (dot != std::string::npos) {
      auto root = v.string.substr(0, v.string.find('.'));
      if (auto const* c = py::find_class(std::string_view(v.string).substr(dot + 1), role))
        for (auto a : c->aliases)
          if (a.starts_with(root + ".")) return c;
    }
    b_.error(origin(m), fmt::format("{} is not {} nbhub provides; expected one of {}", v.string,
                                    what, class_list(role)));
    return nullptr;
  }

  // ---- JupyterHub.* ----------------------------------------------------------------------
  TraitInfo const* trait_in(std::vector<std::string_view> const& sections,
                            std::string_view trait) const {
    for (auto const& t : py::known_traits())
      if (t.trait == trait && contains(sections, t.section)) return &t;
    return nullptr;
  }

  void unknown_trait(Merged const& m, std::vector<std::string_view> const& sections,
                     std::string_view class_name) {
    // A trait of a sibling class (custos_host on GenericOAuthenticator) says so.
    for (auto const& t : py::known_traits())
      if (t.trait == m.trait && is_auth_section(t.section) && is_auth_section(m.section)) {
        b_.warn(origin(m), fmt::format("not a trait of {} (it belongs to {}), ignored", class_name,
                                       t.section));
        return;
      }
    std::vector<std::string> candidates;
    for (auto const& t : py::known_traits())
      if (contains(sections, t.section)) candidates.emplace_back(t.trait);
    auto close = closest(m.trait, candidates);
    b_.warn(origin(m),
            fmt::format("unknown trait of {}, ignored{}", class_name,
                        close.empty() ? std::string{}
                                      : fmt::format("; did you mean `{}.{}`?", m.section, close)));
  }

  void unsupported(Merged const& m, TraitInfo const& t) {
    b_.warn(origin(m), fmt::format("not supported by nbhub yet, ignored{}",
                                   t.note.empty() ? "" : fmt::format(" ({})", t.note)));
  }

  void jupyterhub(std::vector<Merged const*> const& entries) {
    // bind_url first: ip, port and base_url given on their own override its parts.
    std::vector<Merged const*> ordered;
    for (auto const* m : entries)
      if (m->trait == "bind_url") ordered.push_back(m);
    for (auto const* m : entries)
      if (m->trait != "bind_url") ordered.push_back(m);

    std::vector<std::string_view> const sections{"JupyterHub"};
    Merged const *hub_ip = nullptr, *hub_port = nullptr, *connect_ip = nullptr,
                 *connect_port = nullptr;
    for (auto const* m : ordered) {
      auto const* t = trait_in(sections, m->trait);
      if (!t) {
        unknown_trait(*m, sections, "JupyterHub");
        continue;
      }
      auto where = origin(*m);
      switch (t->special) {
        case Special::unsupported: unsupported(*m, *t); break;
        case Special::class_choice: break;  // read in run()
        case Special::hub_ip: hub_ip = m; break;
        case Special::hub_port: hub_port = m; break;
        case Special::hub_connect_ip: connect_ip = m; break;
        case Special::hub_connect_port: connect_port = m; break;
        case Special::bind_url: bind_url(*m); break;
        case Special::base_url: {
          Value v = m->value;
          if (v.kind == Value::Kind::string && !v.string.starts_with("/")) v.string = "/" + v.string;
          b_.set("base_url", v, where);
          break;
        }
        case Special::db_url: {
          Value v = m->value;
          if (v.kind == Value::Kind::string && v.string.starts_with("postgresql+")) {
            auto scheme_end = v.string.find("://");
            if (scheme_end != std::string::npos) {
              b_.warn(where, fmt::format("the SQLAlchemy driver {} is ignored; nbhub uses libpq",
                                         dquoted(v.string.substr(11, scheme_end - 11))));
              v.string = "postgresql" + v.string.substr(scheme_end);
            }
          }
          b_.set("db_url", v, where);
          break;
        }
        case Special::log_level: log_level(*m); break;
        case Special::tornado_settings: tornado_settings(*m); break;
        case Special::days_to_seconds: {
          auto const& v = m->value;
          if (v.kind != Value::Kind::integer && v.kind != Value::Kind::real) {
            b_.error(where, "expected a number of days, got " + describe(v, true));
            break;
          }
          double days = v.kind == Value::Kind::integer ? static_cast<double>(v.integer) : v.real;
          b_.set(t->option, Value::of(static_cast<std::int64_t>(std::llround(days * 86400))),
                 where);
          break;
        }
        default:
          if (!t->renamed_to.empty())
            b_.warn(where, fmt::format("deprecated, read as `{}`", t->renamed_to));
          b_.set(t->option, m->value, where);
      }
    }
    hub_urls(hub_ip, hub_port, connect_ip, connect_port);
  }

  // JupyterHub's way to allow CORS: tornado_settings = {"headers": {"Access-Control-Allow-
  // Origin": "https://app.example.org"}}. That one header becomes cors_allow_origins; the rest
  // of tornado_settings means nothing to nbhub and is named in a warning.
  void tornado_settings(Merged const& m) {
    auto where = origin(m);
    auto const& v = m.value;
    if (v.kind != Value::Kind::dict) {
      b_.error(where, "expected a dict, got " + describe(v, true));
      return;
    }
    for (auto const& [k, val] : v.entries) {
      if (k.kind == Value::Kind::string && k.string == "headers" && val.kind == Value::Kind::dict) {
        for (auto const& [hk, hv] : val.entries) {
          bool const origin_header = hk.kind == Value::Kind::string &&
                                     to_lower(hk.string) == "access-control-allow-origin";
          if (origin_header && hv.kind == Value::Kind::string)
            b_.set("cors_allow_origins", Value::list({Value::of(hv.string)}), where);
          else
            b_.warn(where, fmt::format("tornado_settings[\"headers\"][{}] is not supported by nbhub, "
                                       "ignored (only Access-Control-Allow-Origin is read)",
                                       describe(hk, true)));
        }
      } else {
        b_.warn(where, fmt::format("tornado_settings[{}] is not supported by nbhub, ignored (only "
                                   "headers[\"Access-Control-Allow-Origin\"] is read)",
                                   describe(k, true)));
      }
    }
  }

  void bind_url(Merged const& m) {
    auto where = origin(m);
    auto const& v = m.value;
    auto u = v.kind == Value::Kind::string ? parse_bind_url(v.string) : std::nullopt;
    if (!u) {
      b_.error(where, "expected a URL such as http://:8000/, got " + describe(v, true));
      return;
    }
    b_.set("ip", Value::of(u->ip), where);
    b_.set("port", Value::of(std::int64_t{u->port}), where);
    b_.set("base_url", Value::of(u->path), where);
  }

  void log_level(Merged const& m) {
    auto where = origin(m);
    Value v = m.value;
    if (v.kind == Value::Kind::integer) {
      static const std::map<std::int64_t, std::string> levels = {
          {0, "trace"}, {10, "debug"}, {20, "info"}, {30, "warn"}, {40, "error"}, {50, "critical"}};
      auto it = levels.find(v.integer);
      if (it == levels.end()) {
        b_.error(where, "expected a level name or 0, 10, 20, 30, 40, 50, got " +
                            describe(v, true));
        return;
      }
      v = Value::of(it->second);
    } else if (v.kind == Value::Kind::class_ref && v.string.starts_with("logging.")) {
      v = Value::of(v.string.substr(8));
    }
    b_.set("log_level", v, where);
  }

  // JupyterHub's older hub_ip/hub_port (and hub_connect_*) spell the hub API URLs in parts.
  void hub_urls(Merged const* hub_ip, Merged const* hub_port, Merged const* connect_ip,
                Merged const* connect_port) {
    auto host = [&](Merged const* m, std::string fallback) -> std::optional<std::string> {
      if (!m) return fallback;
      if (m->value.kind != Value::Kind::string) {
        b_.error(origin(*m), "expected a string, got " + describe(m->value, true));
        return std::nullopt;
      }
      auto h = m->value.string.empty() ? std::string("0.0.0.0") : m->value.string;
      return h.find(':') != std::string::npos ? "[" + h + "]" : h;
    };
    auto port = [&](Merged const* m, std::int64_t fallback) -> std::optional<std::int64_t> {
      if (!m) return fallback;
      if (m->value.kind != Value::Kind::integer || m->value.integer < 0 ||
          m->value.integer > 65535) {
        b_.error(origin(*m), "expected an integer from 0 to 65535, got " +
                                 describe(m->value, true));
        return std::nullopt;
      }
      return m->value.integer;
    };
    if ((hub_ip || hub_port) && !find("JupyterHub", "hub_bind_url")) {
      auto h = host(hub_ip, "127.0.0.1");
      auto p = port(hub_port, 8081);
      if (h && p)
        b_.set("hub_bind_url", Value::of(fmt::format("http://{}:{}", *h, *p)),
               origin(hub_port ? *hub_port : *hub_ip));
    }
    if ((connect_ip || connect_port) && !find("JupyterHub", "hub_connect_url")) {
      auto h = host(connect_ip ? connect_ip : hub_ip, "127.0.0.1");
      auto p = port(connect_port ? connect_port : hub_port, 8081);
      if (h && p)
        b_.set("hub_connect_url", Value::of(fmt::format("http://{}:{}", *h, *p)),
               origin(connect_port ? *connect_port : *connect_ip));
    }
  }

  // ---- Authenticator family ----------------------------------------------------------------
  void authenticator(std::vector<Merged const*> const& entries, bool class_given) {
    std::vector<std::string_view> const mro =
        auth_ ? auth_->mro : std::vector<std::string_view>{"Authenticator"};
    std::string_view const class_name = auth_ ? auth_->name : std::string_view("Authenticator");

    struct Candidate {
      Merged const* m;
      TraitInfo const* t;
      int rank;
    };
    std::map<std::string_view, Candidate> winners;  // by target option
    auto better = [&](Candidate const& a, Candidate const& b) {
      bool a_current = a.t->renamed_to.empty(), b_current = b.t->renamed_to.empty();
      if (a_current != b_current) return a_current;
      if (a.rank != b.rank) return a.rank > b.rank;
      return a.m->line > b.m->line;
    };

    for (auto const* m : entries) {
      auto rank = std::find(mro.begin(), mro.end(), m->section) - mro.begin();
      if (rank == static_cast<std::ptrdiff_t>(mro.size())) {
        if (auth_)
          b_.warn(origin(*m), fmt::format("ignored: JupyterHub.authenticator_class is {}, which "
                                          "does not read {}",
                                          auth_->name, m->section));
        else if (!class_given)
          b_.warn(origin(*m),
                  "ignored: JupyterHub.authenticator_class is not set (JupyterHub's default, "
                  "PAMAuthenticator, is not available in nbhub)");
        continue;  // an unknown class was already reported as an error
      }
      auto const* t = trait_in(mro, m->trait);
      if (!t) {
        unknown_trait(*m, mro, class_name);
        continue;
      }
      if (t->special == Special::unsupported) {
        unsupported(*m, *t);
        continue;
      }
      if (!t->renamed_to.empty())
        b_.warn(origin(*m), fmt::format("deprecated, read as `{}`", t->renamed_to));
      Candidate c{m, t, static_cast<int>(rank)};
      auto [it, inserted] = winners.try_emplace(t->option, c);
      if (!inserted && better(c, it->second)) it->second = c;
    }

    std::vector<Candidate> apply;
    for (auto const& [_, c] : winners) apply.push_back(c);
    std::sort(apply.begin(), apply.end(),
              [](Candidate const& a, Candidate const& b) { return a.m->line < b.m->line; });
    for (auto const& c : apply) auth_value(*c.m, *c.t);
    if (auth_) provider_fixups();
  }

  void auth_value(Merged const& m, TraitInfo const& t) {
    auto where = origin(m);
    Value v = m.value;
    if (t.special == Special::groups_path) {
      std::string prefix = std::string(auth_ ? auth_->user_key : "oauth_user") + ".";
      if (v.kind != Value::Kind::string || !v.string.starts_with(prefix)) {
        b_.error(where, fmt::format("expected a path into the user info, \"{}CLAIM\", got {}",
                                    prefix, describe(v, true)));
        return;
      }
      v.string = v.string.substr(prefix.size());
    } else if (t.special == Special::cilogon_idps) {
      // {entity_id: {...}} -> [{"entity_id": entity_id, ...}], the TOML form.
      if (v.kind != Value::Kind::dict) {
        b_.error(where, "expected a dict of entity id to its settings, got " + describe(v, true));
        return;
      }
      Value list = Value::list();
      for (auto const& [key, settings] : v.entries) {
        if (key.kind != Value::Kind::string || settings.kind != Value::Kind::dict) {
          b_.error(where, "expected a dict of entity id (a string) to a dict of settings, got an entry " +
                              describe(key, true) + ": " + describe(settings, true));
          return;
        }
        Value entry = Value::dict();
        entry.entries.emplace_back(Value::of("entity_id"), key);
        for (auto const& kv : settings.entries) entry.entries.push_back(kv);
        list.items.push_back(std::move(entry));
      }
      v = std::move(list);
    } else if (t.special == Special::basic_auth) {
      if (v.kind != Value::Kind::boolean) {
        b_.error(where, "expected True or False, got " + describe(v, true));
        return;
      }
      v = Value::of(std::string(v.boolean ? "client_secret_basic" : "client_secret_post"));
    }
    std::string_view option = t.option;
    if (option.starts_with("providers.")) {
      if (provider_ < 0) return;  // no provider: reported with the class
      b_.set_provider(provider_, option.substr(10), v, where);
    } else {
      b_.set(option, v, where);
    }
  }

  void provider_fixups() {
    auto const* auth_class = find("JupyterHub", "authenticator_class");
    if (auth_->kind == "custos") {
      // CustosOAuthenticator.__init__ overwrites login_service; so do we.
      if (auto const* o = b_.origin_of(provider_, "login_service");
          o && b_.provider(provider_).login_service != "Custos Login")
        b_.warn(*o, "CustosOAuthenticator always shows \"Custos Login\" (as upstream); ignored");
      b_.set_provider(provider_, "login_service", Value::of("Custos Login"), origin(*auth_class));
    }
    // Amazon Cognito behind GenericOAuthenticator: keep kind generic (the endpoints are given),
    // but note the domain and region for the provider preset's logout URL and JWKS.
    auto const& p = b_.provider(provider_);
    if (p.kind == "generic" && !p.authorize_url.empty()) {
      auto u = boost::urls::parse_absolute_uri(p.authorize_url);
      if (!u) return;
      std::string host(u->encoded_host());
      constexpr std::string_view kSuffix = ".amazoncognito.com";
      auto auth_at = host.find(".auth.");
      if (host.ends_with(kSuffix) && auth_at != std::string::npos && auth_at > 0) {
        auto region = host.substr(auth_at + 6, host.size() - kSuffix.size() - auth_at - 6);
        if (!region.empty() && region.find('.') == std::string::npos) {
          Origin where = *b_.origin_of(provider_, "authorize_url");
          b_.set_provider(provider_, "cognito_domain", Value::of(host), where);
          b_.set_provider(provider_, "cognito_region", Value::of(region), where);
        }
      }
    }
  }

  // ---- Spawner family: typed options where nbhub has one, the rest kept verbatim ----------
  void spawner_traits(std::vector<Merged const*> entries, Merged const* spawner_class) {
    if (!spawner_) return;  // an unknown spawner class was reported as an error
    // Base classes first, so DockerSpawner.x applied after Spawner.x wins, as in traitlets.
    auto rank = [&](Merged const* m) {
      return std::find(spawner_->mro.begin(), spawner_->mro.end(), m->section) -
             spawner_->mro.begin();
    };
    std::stable_sort(entries.begin(), entries.end(),
                     [&](Merged const* a, Merged const* b) { return rank(a) < rank(b); });
    std::vector<std::string_view> const base{"Spawner"};
    Value options = Value::dict();
    Origin first;
    for (auto const* m : entries) {
      if (!contains(spawner_->mro, m->section)) {
        b_.warn(origin(*m), fmt::format("ignored: JupyterHub.spawner_class is {}{}, which does not "
                                        "read {}",
                                        spawner_->name, spawner_class ? "" : " (the default)",
                                        m->section));
        continue;
      }
      // Spawner traits, and the few of a subclass nbhub has an option for
      // (SimpleLocalProcessSpawner.home_dir_template).
      if (auto const* t = trait_in({base.front(), m->section}, m->trait)) {
        Value v = m->value;
        if (t->trait == "cmd" && v.kind == Value::Kind::string) v = Value::list({v});
        b_.set(t->option, v, origin(*m));
        continue;
      }
      std::vector<std::string> known;
      for (auto s : spawner_->mro)
        for (auto t : py::known_spawner_traits(s)) known.emplace_back(t);
      if (std::find(known.begin(), known.end(), m->trait) == known.end()) {
        auto close = closest(m->trait, known);
        b_.warn(origin(*m),
                fmt::format("unknown trait of {}, kept in spawner.options{}", spawner_->name,
                            close.empty() ? std::string{}
                                          : fmt::format("; did you mean `{}.{}`?", m->section,
                                                        close)));
      }
      if (options.entries.empty()) first = origin(*m);
      auto text = m->value.kind == Value::Kind::string ? m->value.string : to_json(m->value);
      options.entries.emplace_back(Value::of(m->section + "." + m->trait), Value::of(text));
    }
    if (!options.entries.empty()) b_.set("spawner.options", options, first);
  }

  void other_section(Merged const& m) {
    if (auto reason = py::ignored_section_reason(m.section); !reason.empty()) {
      b_.warn(origin(m), fmt::format("ignored: {}", reason));
      return;
    }
    std::vector<std::string> sections{"JupyterHub", "Authenticator", "OAuthenticator", "Spawner"};
    for (auto const& c : py::known_classes()) sections.emplace_back(c.name);
    b_.warn(origin(m), fmt::format("unknown configuration class {}, ignored{}", m.section,
                                   did_you_mean(m.section, sections)));
  }

  std::string const& file_;
  ConfigBuilder& b_;
  std::vector<Merged> merged_;
  ClassInfo const* auth_ = nullptr;
  ClassInfo const* spawner_ = nullptr;
  int provider_ = -1;
};

}  // namespace

bool is_supported_hook(std::string_view section, std::string_view trait) {
  if (section == "JupyterHub") return trait == "default_url" || trait == "named_server_limit_per_user";
  if (is_auth_section(section))
    return trait == "username_claim" || trait == "post_auth_hook" || trait == "modify_auth_state_hook" ||
           trait == "check_allowed" || trait == "check_blocked_users";
  if (section == "KubeSpawner" && trait == "modify_pod_hook") return true;
  if ((section == "DockerSpawner" || section == "SwarmSpawner" || section == "SystemUserSpawner") &&
      trait == "extra_create_kwargs")
    return true;
  return is_spawner_section(section) &&
         (trait == "pre_spawn_hook" || trait == "auth_state_hook" || trait == "post_stop_hook" ||
          trait == "options_form" || trait == "options_from_form" || trait == "profile_list" ||
          trait == "default_url");
}

namespace {

// Report in line order, whichever pass found them (pieces of one z2jh config keep theirs).
void sort_from(ConfigBuilder& b, std::size_t first) {
  std::stable_sort(b.diagnostics().begin() + static_cast<std::ptrdiff_t>(first),
                   b.diagnostics().end(), [](Diagnostic const& x, Diagnostic const& y) {
                     return std::tie(x.file, x.line) < std::tie(y.file, y.line);
                   });
}

}  // namespace

bool import_python_outcome(pyeval::Outcome outcome, std::string const& file, ConfigBuilder& b,
                           std::vector<py::Assignment> before) {
  auto const first = b.diagnostics().size();
  for (auto& d : outcome.diagnostics) b.add(std::move(d));
  if (outcome.failed) return false;
  auto& py_settings = b.hub().python;
  for (auto const& c : outcome.callables) {
    Origin where{c.file.empty() ? file : c.file, c.line, c.section + "." + c.trait, Layer::file, true};
    if (is_supported_hook(c.section, c.trait)) {
      py_settings.hooks.push_back(c.section + "." + c.trait);
    } else {
      b.error(where, fmt::format("a function ({}) is not supported for this trait yet; nbhub calls "
                                 "functions given to the Spawner hooks (pre_spawn_hook, auth_state_hook, "
                                 "post_stop_hook, options_form, options_from_form, profile_list, default_url), "
                                 "KubeSpawner.modify_pod_hook, DockerSpawner.extra_create_kwargs, "
                                 "JupyterHub.default_url, JupyterHub.named_server_limit_per_user, "
                                 "Authenticator.post_auth_hook, check_allowed, check_blocked_users, OAuthenticator.modify_auth_state_hook and "
                                 "username_claim; see docs/hooks.md",
                                 c.name));
    }
  }
  // The spawner class's sections, for the hook helper's stand-in spawner.
  py_settings.spawner_sections = {"Spawner", "LocalProcessSpawner"};
  for (auto const* list : {&before, &outcome.assignments})
    for (auto const& a : *list) {
      if (a.section == "JupyterHub" && a.trait == "spawner_class")
        if (auto const* c = py::find_class(a.value.string, Role::spawner))
          py_settings.spawner_sections.assign(c->mro.begin(), c->mro.end());
      if (a.section == "JupyterHub" && a.trait == "authenticator_class")
        if (auto const* c = py::find_class(a.value.string, Role::authenticator))
          py_settings.authenticator_sections.assign(c->mro.begin(), c->mro.end());
    }
  before.insert(before.end(), std::make_move_iterator(outcome.assignments.begin()),
                std::make_move_iterator(outcome.assignments.end()));
  Importer(file, b).run(before);
  sort_from(b, first);
  return true;
}

void import_pyconfig(std::string_view text, std::string const& file,
                     std::map<std::string, std::string> const& env, ConfigBuilder& b,
                     PythonSettings const& python) {
  auto parsed = py::parse(text, file, env);
  bool const literal_ok =
      !parsed.syntax_error && std::none_of(parsed.diagnostics.begin(), parsed.diagnostics.end(),
                                           [](Diagnostic const& d) { return d.error; });
  bool const want_python =
      python.config_python == "always" || (python.config_python == "auto" && !literal_ok);
  if (want_python) {
    auto path_it = env.find("PATH");
    auto exe = pyeval::find_executable(python.executable,
                                       path_it != env.end() ? path_it->second : "");
    if (exe) {
      std::error_code ec;
      auto abs = std::filesystem::absolute(file, ec);
      pyeval::Request req;
      req.pieces.push_back({file, ec ? file : abs.string(), std::string(text)});
      req.dir = (ec ? std::filesystem::path(file) : abs).parent_path().string();
      auto outcome = pyeval::evaluate(
          req, {python.executable, python.eval_timeout, python.max_output_bytes}, *exe, env);
      b.hub().python.evaluated_file = req.pieces.front().path;
      b.hub().python.helper_context = pyeval::context_json(req, python.hook_timeout);
      import_python_outcome(std::move(outcome), file, b);
      return;
    }
    Origin where{file, 0, "config_python", Layer::file, true};
    if (python.config_python == "always") {
      b.error(where, fmt::format("config_python is \"always\" but {} was not found in PATH",
                                 python.executable));
      return;
    }
    b.warn(where, fmt::format("{} was not found in PATH, so the lines below that need Python "
                              "are not read (install python3, or rewrite them as plain values)",
                              python.executable));
  }
  auto const first = b.diagnostics().size();
  for (auto& d : parsed.diagnostics) b.add(std::move(d));
  if (parsed.syntax_error) return;
  Importer(file, b).run(parsed.assignments);
  // Report in file order, whichever pass found them.
  std::stable_sort(b.diagnostics().begin() + static_cast<std::ptrdiff_t>(first),
                   b.diagnostics().end(),
                   [](Diagnostic const& x, Diagnostic const& y) { return x.line < y.line; });
}

void import_assignments(std::vector<py::Assignment> const& assignments, std::string const& file,
                        ConfigBuilder& b) {
  Importer(file, b).run(assignments);
}

}  // namespace nbhub::config
