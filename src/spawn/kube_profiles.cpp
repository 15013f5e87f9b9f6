#include "spawn/kube_profiles.hpp"

#include <fmt/format.h>

#include "core/html_escape.hpp"

namespace nbhub::spawn::kube {

namespace json = boost::json;

namespace {

std::string slugify(std::string_view name) {
  std::string out;
  for (char c : name) {
    char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    bool keep = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9');
    if (keep) out += l;
    else if (!out.empty() && out.back() != '-') out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

std::string escape(std::string_view s) { return html_escape(s); }

std::string str(json::object const& o, std::string_view key) {
  auto v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool flag(json::object const& o, std::string_view key) {
  auto v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

std::string option_field(Profile const& p, ProfileOption const& o) {
  return "profile-option-" + p.slug + "--" + o.name;
}

}  // namespace

Result<std::vector<Profile>> parse_profiles(json::array const& list) {
  std::vector<Profile> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto where = fmt::format("KubeSpawner.profile_list[{}]", i);
    if (!list[i].is_object()) return make_error(Errc::config, where + ": expected a dict");
    auto const& o = list[i].as_object();
    Profile p;
    p.display_name = str(o, "display_name");
    if (p.display_name.empty()) return make_error(Errc::config, where + ": display_name is required");
    p.slug = str(o, "slug").empty() ? slugify(p.display_name) : str(o, "slug");
    p.description = str(o, "description");
    p.is_default = flag(o, "default");
    if (auto ov = o.if_contains("kubespawner_override")) {
      if (!ov->is_object()) return make_error(Errc::config, where + ".kubespawner_override: expected a dict");
      p.override_ = ov->as_object();
    }
    if (auto opts = o.if_contains("profile_options")) {
      if (!opts->is_object()) return make_error(Errc::config, where + ".profile_options: expected a dict");
      for (auto const& kv : opts->as_object()) {
        auto owhere = where + ".profile_options." + std::string(kv.key());
        if (!kv.value().is_object()) return make_error(Errc::config, owhere + ": expected a dict");
        auto const& oo = kv.value().as_object();
        ProfileOption opt{std::string(kv.key()), str(oo, "display_name"), {}};
        if (opt.display_name.empty()) opt.display_name = opt.name;
        auto choices = oo.if_contains("choices");
        if (!choices || !choices->is_object() || choices->as_object().empty())
          return make_error(Errc::config, owhere + ".choices: expected a dict of choices (free-text unlisted_choice is not supported)");
        for (auto const& ck : choices->as_object()) {
          if (!ck.value().is_object()) return make_error(Errc::config, owhere + ".choices." + std::string(ck.key()) + ": expected a dict");
          auto const& co = ck.value().as_object();
          ProfileChoice c{std::string(ck.key()), str(co, "display_name"), flag(co, "default"), {}};
          if (c.display_name.empty()) c.display_name = c.key;
          if (auto ov = co.if_contains("kubespawner_override"); ov && ov->is_object()) c.override_ = ov->as_object();
          if (c.override_.contains("namespace"))
            return make_error(Errc::config, owhere + ".choices." + c.key +
                                                ".kubespawner_override.namespace: a profile cannot move servers to another namespace here");
          opt.choices.push_back(std::move(c));
        }
        p.options.push_back(std::move(opt));
      }
    }
    if (p.override_.contains("namespace"))
      return make_error(Errc::config, where + ".kubespawner_override.namespace: a profile cannot move servers to another namespace here");
    out.push_back(std::move(p));
  }
  return out;
}

std::string profiles_form(std::vector<Profile> const& profiles) {
  std::string html = R"(<fieldset class="profiles"><legend>Choose a server</legend>)";
  bool any_default = false;
  for (auto const& p : profiles) any_default = any_default || p.is_default;
  for (std::size_t i = 0; i < profiles.size(); ++i) {
    auto const& p = profiles[i];
    bool checked = p.is_default || (!any_default && i == 0);
    auto id = "profile-" + escape(p.slug);
    html += fmt::format(R"(<div class="profile"><input type="radio" name="profile" id="{}" value="{}"{}>)"
                        R"(<label for="{}"><strong>{}</strong>{}</label>)",
                        id, escape(p.slug), checked ? " checked" : "", id, escape(p.display_name),
                        p.description.empty() ? "" : "<br><span>" + escape(p.description) + "</span>");
    for (auto const& o : p.options) {
      auto field = escape(option_field(p, o));
      html += fmt::format(R"(<label for="{}">{}</label><select name="{}" id="{}">)", field, escape(o.display_name), field, field);
      for (auto const& c : o.choices)
        html += fmt::format(R"(<option value="{}"{}>{}</option>)", escape(c.key), c.is_default ? " selected" : "",
                            escape(c.display_name));
      html += "</select>";
    }
    html += "</div>";
  }
  return html + "</fieldset>";
}

Result<json::object> profile_user_options(std::vector<Profile> const& profiles,
                                          std::vector<std::pair<std::string, std::string>> const& form) {
  json::object out;
  for (auto const& [k, v] : form)
    if (k == "profile" || k.starts_with("profile-option-")) out[k] = v;
  if (auto r = profile_overrides(profiles, out); !r) return r.error();
  return out;
}

Result<json::object> profile_overrides(std::vector<Profile> const& profiles, json::object const& user_options) {
  if (profiles.empty()) return json::object{};
  Profile const* chosen = nullptr;
  if (auto want = user_options.if_contains("profile"); want && want->is_string() && !want->as_string().empty()) {
    for (auto const& p : profiles)
      if (p.slug == want->as_string()) chosen = &p;
    if (!chosen)
      return make_error(Errc::bad_request, fmt::format("There is no server profile \"{}\".", std::string(want->as_string())));
  } else {
    chosen = &profiles.front();
    for (auto const& p : profiles)
      if (p.is_default) chosen = &p;
  }
  json::object merged = chosen->override_;
  for (auto const& o : chosen->options) {
    ProfileChoice const* pick = &o.choices.front();
    for (auto const& c : o.choices)
      if (c.is_default) pick = &c;
    if (auto want = user_options.if_contains(option_field(*chosen, o)); want && want->is_string()) {
      pick = nullptr;
      for (auto const& c : o.choices)
        if (c.key == want->as_string()) pick = &c;
      if (!pick)
        return make_error(Errc::bad_request, fmt::format("\"{}\" is not a choice of {} in the profile {}.",
                                                         std::string(want->as_string()), o.display_name, chosen->display_name));
    }
    for (auto const& kv : pick->override_) merged[kv.key()] = kv.value();
  }
  return merged;
}

}  // namespace nbhub::spawn::kube
