#include "config/generate.hpp"

#include <fmt/format.h>

#include "config/layers.hpp"
#include "config/options.hpp"
#include "config/pyconfig_tables.hpp"

#ifndef NBHUB_VERSION
#define NBHUB_VERSION "0.0.0"
#endif

namespace nbhub::config {

namespace {

std::string_view section_title(std::string_view s) {
  if (s.empty()) return "Top level (hub-wide; before the first [table])";
  if (s == "http") return "[http]: the public listener";
  if (s == "http_client") return "[http_client]: outbound calls (identity providers, JWKS, Docker, Kubernetes)";
  if (s == "spawner") return "[spawner]: how user servers are started";
  if (s == "proxy") return "[proxy]: the built-in proxy";
  if (s == "cull") return "[cull]: stopping idle servers";
  if (s == "managed_services") return "[managed_services]: services nbhub runs (`services` with a `command`)";
  if (s == "python") return "[python]: running jupyterhub_config.py and its hooks";
  if (s == "auth") return "[auth]: who may log in";
  return "[[auth.providers]]: one table per identity provider";
}

std::string cell(std::string_view s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

// `text` as "# " comment lines of at most 92 columns.
std::string comment_lines(std::string_view text) {
  std::string out, line;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto space = text.find(' ', pos);
    auto word = text.substr(pos, space == std::string_view::npos ? space : space - pos);
    if (!line.empty() && line.size() + 1 + word.size() > 90) {
      out += "# " + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + std::string(word);
    if (space == std::string_view::npos) break;
    pos = space + 1;
  }
  return out + "# " + line + "\n";
}

}  // namespace

std::string generate_config() {
  std::string out = fmt::format(
      "# nbhub configuration (TOML), written by `nbhub --generate-config` (nbhub {}).\n"
      "#\n"
      "# Every option is listed with its built-in default, commented out: uncomment what you\n"
      "# change. Precedence: built-in defaults < this file < environment (NBHUB_*) < flags.\n"
      "# Hub-wide keys come first, before any [table]. Durations are whole seconds (keys ending\n"
      "# in _seconds), sizes bytes (_bytes). Reference: docs/config.md.\n",
      NBHUB_VERSION);
  std::string current = "-";
  for (auto const& o : options()) {
    auto section = o.section();
    if (section != current) {
      current = section;
      if (!section.empty()) out += "\n";
      if (section == "auth.providers") {
        out +=
            "# One [[auth.providers]] table per identity provider (Amazon Cognito, Custos, CILogon,\n"
            "# any OAuth2/OIDC provider). Uncomment the header and the keys you need.\n"
            "#[[auth.providers]]\n";
      } else if (!section.empty()) {
        out += "[" + section + "]\n";
      }
    }
    out += "\n" + comment_lines(o.doc);
    out += fmt::format("# Type: {}. Environment: {}.\n", o.type_name(), o.env_name());
    out += fmt::format("#{} = {}\n", o.name(), o.default_toml());
  }
  return out;
}

std::string generated_block(std::string_view name) {
  std::string out;
  if (name == "options") {
    std::string current = "-";
    for (auto const& o : options()) {
      auto section = o.section();
      if (section != current) {
        current = section;
        out += fmt::format("{}### {}\n\n", out.empty() ? "" : "\n", section_title(section));
        out += "| Key | Type | Default | Environment | Description |\n";
        out += "|---|---|---|---|---|\n";
      }
      out += fmt::format("| `{}` | {} | `{}` | `{}` | {} |\n", o.name(), cell(o.type_name()),
                         cell(o.default_toml()), o.env_name(), cell(o.doc));
    }
    return out;
  }
  if (name == "environment") {
    out += "| Variable | Fills provider option | Kinds | Note |\n|---|---|---|---|\n";
    for (auto const& v : compat_env_vars())
      out += fmt::format("| `{}` | `{}` | {} | {} |\n", v.name, v.option,
                         v.kinds.empty() ? std::string("all") : std::string(v.kinds),
                         cell(v.note));
    return out;
  }
  if (name == "py-classes") {
    out += "| Class (any of these spellings) | nbhub |\n|---|---|\n";
    for (auto const& c : py::known_classes()) {
      std::string names = fmt::format("`{}`", c.name);
      for (auto a : c.aliases) names += fmt::format(", `{}`", a);
      out += fmt::format("| {} | {} |\n", names,
                         c.role == py::Role::authenticator
                             ? fmt::format("`[[auth.providers]]` `kind = \"{}\"`", c.kind)
                             : fmt::format("`[spawner]` `kind = \"{}\"`", c.kind));
    }
    return out;
  }
  if (name == "py-traits") {
    out += "| Trait | nbhub option | Note |\n|---|---|---|\n";
    for (auto const& t : py::known_traits()) {
      std::string option;
      if (t.special == py::Special::unsupported)
        option = "not supported yet (warning)";
      else if (std::string_view(t.option).starts_with("providers."))
        option = fmt::format("`auth.providers[].{}`", t.option.substr(10));
      else
        option = fmt::format("`{}`", t.option);
      std::string note(t.note);
      if (!t.renamed_to.empty())
        note = fmt::format("deprecated alias of `{}` (warning){}", t.renamed_to,
                           note.empty() ? "" : "; " + note);
      out += fmt::format("| `{}.{}` | {} | {} |\n", t.section, t.trait, option, cell(note));
    }
    out += "| other `Spawner.*`, `LocalProcessSpawner.*`, `DockerSpawner.*`, `KubeSpawner.*` | "
           "`spawner.options` | kept as `\"Class.trait\" = \"value\"` (strings as written, other "
           "values as JSON) for the spawner; traits of a class the spawner_class does not read "
           "are ignored with a warning |\n";
    return out;
  }
  return {};
}

std::string generate_markdown() {
  return "# nbhub options\n\n" + generated_block("options");
}

std::string update_generated_blocks(std::string_view doc) {
  constexpr std::string_view kBegin = "<!-- BEGIN GENERATED ";
  constexpr std::string_view kEnd = "<!-- END GENERATED ";
  std::string out;
  std::size_t pos = 0;
  for (;;) {
    auto b = doc.find(kBegin, pos);
    if (b == std::string_view::npos) break;
    auto name_end = doc.find(" -->", b);
    if (name_end == std::string_view::npos) break;
    auto name = doc.substr(b + kBegin.size(), name_end - b - kBegin.size());
    auto body = doc.find('\n', name_end);
    auto e = doc.find(std::string(kEnd) + std::string(name) + " -->", body);
    if (body == std::string_view::npos || e == std::string_view::npos) break;
    out += doc.substr(pos, body + 1 - pos);
    out += generated_block(name);
    pos = e;
  }
  out += doc.substr(pos);
  return out;
}

}  // namespace nbhub::config
