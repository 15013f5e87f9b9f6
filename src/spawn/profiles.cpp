#include "spawn/profiles.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

#include "core/html_escape.hpp"

namespace nbhub::spawn {

namespace json = boost::json;

namespace {

constexpr std::string_view kUnlisted = "unlisted-choice";       // the select's value for "Other..."
constexpr std::string_view kUnlistedSuffix = "--unlisted-choice";  // the text's key

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

std::string field_prefix(Profile const& p) { return "profile-option-" + p.slug + "--"; }

// The override dict of an entry, checked key by key against the spawner.
Result<json::object> override_of(json::object const& o, std::string const& where, ProfileSchema const& schema) {
  for (auto const& key : schema.override_keys) {
    auto const* ov = o.if_contains(key);
    if (!ov) continue;
    if (!ov->is_object()) return make_error(Errc::config, fmt::format("{}.{}: expected a dict", where, key));
    for (auto const& kv : ov->as_object()) {
      if (!schema.check_trait) break;
      if (auto why = schema.check_trait(kv.key()); !why.empty())
        return make_error(Errc::config, fmt::format("{}.{}.{}: {}", where, key, std::string(kv.key()), why));
    }
    return ov->as_object();
  }
  return json::object{};
}

// Dicts merge into dicts (a profile adds environment variables rather than replacing them);
// anything else replaces.
void merge_into(json::object& into, json::object const& from) {
  for (auto const& kv : from) {
    auto* have = into.if_contains(kv.key());
    if (have && have->is_object() && kv.value().is_object()) {
      auto merged = have->as_object();
      merge_into(merged, kv.value().as_object());
      *have = std::move(merged);
    } else {
      into[kv.key()] = kv.value();
    }
  }
}

Profile const* find_profile(std::vector<Profile> const& profiles, std::string_view slug) {
  for (auto const& p : profiles)
    if (p.slug == slug) return &p;
  return nullptr;
}

Profile const& default_profile(std::vector<Profile> const& profiles) {
  for (auto const& p : profiles)
    if (p.is_default) return p;
  return profiles.front();
}

// user_options' value for an option: KubeSpawner's bare key, or the form field's name.
json::value const* option_value(json::object const& uo, Profile const& p, std::string const& key) {
  if (auto const* v = uo.if_contains(key)) return v;
  return uo.if_contains(field_prefix(p) + key);
}

Result<std::string> text_of(json::value const* v, std::string const& what) {
  if (!v || v->is_null()) return std::string();
  if (!v->is_string()) return make_error(Errc::bad_request, fmt::format("user_options: {} must be a string.", what));
  return std::string(v->as_string());
}

bool regex_accepts(std::string const& pattern, std::string const& text) {
  try {
    std::regex re(pattern, std::regex::ECMAScript);
    return std::regex_search(text, re, std::regex_constants::match_continuous);
  } catch (std::regex_error const&) {
    return false;  // checked when the list was read; a pattern that cannot run accepts nothing
  }
}

}  // namespace

json::value format_value(json::value const& v, std::string_view value) {
  if (v.is_string()) {
    std::string_view s = v.as_string();
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s.substr(i, 7) == "{value}") {
        out += value;
        i += 6;
      } else if ((s[i] == '{' || s[i] == '}') && i + 1 < s.size() && s[i + 1] == s[i]) {
        out += s[i];
        ++i;
      } else {
        out += s[i];
      }
    }
    return json::value(out);
  }
  if (v.is_object()) {
    json::object o;
    for (auto const& kv : v.as_object()) o[kv.key()] = format_value(kv.value(), value);
    return o;
  }
  if (v.is_array()) {
    json::array a;
    for (auto const& x : v.as_array()) a.push_back(format_value(x, value));
    return a;
  }
  return v;
}

Result<std::vector<Profile>> parse_profiles(json::value const& value, ProfileSchema const& schema) {
  json::array list;
  if (value.is_array()) {
    list = value.as_array();
  } else if (value.is_object()) {  // KubeSpawner: a dict's values, sorted by key
    std::vector<std::string> keys;
    for (auto const& kv : value.as_object()) keys.emplace_back(kv.key());
    std::sort(keys.begin(), keys.end());
    for (auto const& k : keys) list.push_back(value.as_object().at(k));
  } else if (!value.is_null()) {
    return make_error(Errc::config, schema.where + ": expected a list of profiles");
  }
  std::vector<Profile> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto where = fmt::format("{}[{}]", schema.where, i);
    if (!list[i].is_object()) return make_error(Errc::config, where + ": expected a dict");
    auto const& o = list[i].as_object();
    Profile p;
    p.display_name = str(o, "display_name");
    if (p.display_name.empty()) return make_error(Errc::config, where + ": display_name is required");
    p.slug = str(o, "slug").empty() ? slugify(p.display_name) : str(o, "slug");
    if (p.slug.empty()) return make_error(Errc::config, where + ": needs a slug (the display name has no letters or digits)");
    if (find_profile(out, p.slug))
      return make_error(Errc::config, fmt::format("{}: the slug \"{}\" is used by an earlier profile", where, p.slug));
    p.description = str(o, "description");
    p.is_default = flag(o, "default") && std::none_of(out.begin(), out.end(), [](auto const& q) { return q.is_default; });
    auto ov = override_of(o, where, schema);
    if (!ov) return ov.error();
    p.override_ = std::move(*ov);
    if (auto opts = o.if_contains("profile_options")) {
      if (!opts->is_object()) return make_error(Errc::config, where + ".profile_options: expected a dict");
      for (auto const& kv : opts->as_object()) {
        auto owhere = where + ".profile_options." + std::string(kv.key());
        if (!kv.value().is_object()) return make_error(Errc::config, owhere + ": expected a dict");
        auto const& oo = kv.value().as_object();
        ProfileOption opt{std::string(kv.key()), str(oo, "display_name"), {}, {}};
        if (opt.display_name.empty()) opt.display_name = opt.name;
        if (auto const* choices = oo.if_contains("choices"); choices && !choices->is_null()) {
          if (!choices->is_object()) return make_error(Errc::config, owhere + ".choices: expected a dict of choices");
          for (auto const& ck : choices->as_object()) {
            auto cwhere = owhere + ".choices." + std::string(ck.key());
            if (!ck.value().is_object()) return make_error(Errc::config, cwhere + ": expected a dict");
            auto const& co = ck.value().as_object();
            ProfileChoice c{std::string(ck.key()), str(co, "display_name"), flag(co, "default"), {}};
            if (c.key == kUnlisted)
              return make_error(Errc::config, cwhere + ": \"unlisted-choice\" is the name of the free-text choice");
            if (c.display_name.empty()) c.display_name = c.key;
            auto cov = override_of(co, cwhere, schema);
            if (!cov) return cov.error();
            c.override_ = std::move(*cov);
            opt.choices.push_back(std::move(c));
          }
        }
        // One default choice: the first that says so, else the first (KubeSpawner).
        bool seen = false;
        for (auto& c : opt.choices) {
          c.is_default = c.is_default && !seen;
          seen = seen || c.is_default;
        }
        if (!seen && !opt.choices.empty()) opt.choices.front().is_default = true;
        if (auto const* un = oo.if_contains("unlisted_choice"); un && !un->is_null()) {
          auto uwhere = owhere + ".unlisted_choice";
          if (!un->is_object()) return make_error(Errc::config, uwhere + ": expected a dict");
          auto const& uo = un->as_object();
          auto& u = opt.unlisted;
          u.enabled = flag(uo, "enabled");
          u.display_name = str(uo, "display_name");
          if (u.display_name.empty()) u.display_name = opt.display_name;
          u.display_name_in_choices = str(uo, "display_name_in_choices");
          if (u.display_name_in_choices.empty()) u.display_name_in_choices = "Other...";
          u.validation_regex = str(uo, "validation_regex");
          u.validation_message = str(uo, "validation_message");
          if (u.validation_message.empty() && !u.validation_regex.empty())
            u.validation_message = "The value must match " + u.validation_regex + ".";
          if (!u.validation_regex.empty()) {
            try {
              std::regex re(u.validation_regex, std::regex::ECMAScript);
            } catch (std::regex_error const& e) {
              return make_error(Errc::config, fmt::format("{}.validation_regex: not a regular expression: {}", uwhere, e.what()));
            }
          }
          auto uov = override_of(uo, uwhere, schema);
          if (!uov) return uov.error();
          u.override_ = std::move(*uov);
        }
        if (opt.choices.empty() && !opt.unlisted.enabled)
          return make_error(Errc::config, owhere + ": needs choices or an enabled unlisted_choice");
        p.options.push_back(std::move(opt));
      }
    }
    out.push_back(std::move(p));
  }
  if (!out.empty() && std::none_of(out.begin(), out.end(), [](auto const& p) { return p.is_default; }))
    out.front().is_default = true;
  return out;
}

std::string profiles_form(std::vector<Profile> const& profiles, json::object const& selected) {
  // Saved user_options that no longer fit the list (it changed since) are not pre-selected.
  bool const saved_ok = !selected.empty() && profile_overrides(profiles, selected).has_value();
  Profile const* chosen = profiles.empty() ? nullptr : &default_profile(profiles);
  if (saved_ok)
    if (auto const* s = selected.if_contains("profile"); s && s->is_string())
      if (auto const* p = find_profile(profiles, s->as_string())) chosen = p;
  std::string html = R"(<fieldset class="profiles"><legend>Choose a server</legend>)";
  for (auto const& p : profiles) {
    bool const mine = saved_ok && &p == chosen;
    auto id = "profile-item-" + escape(p.slug);
    html += fmt::format(R"(<div class="profile"><input type="radio" name="profile" id="{}" value="{}"{}>)"
                        R"(<label for="{}"><strong>{}</strong>{}</label>)",
                        id, escape(p.slug), &p == chosen ? " checked" : "", id, escape(p.display_name),
                        p.description.empty() ? "" : "<br><span>" + escape(p.description) + "</span>");
    for (auto const& o : p.options) {
      auto field = escape(field_prefix(p) + o.name);
      std::string pick, text;
      if (mine) {
        auto const* u = selected.if_contains(o.name + std::string(kUnlistedSuffix));
        auto const* c = option_value(selected, p, o.name);
        if (u && u->is_string() && !u->as_string().empty()) {
          pick = std::string(kUnlisted);
          text = std::string(u->as_string());
        } else if (c && c->is_string()) {
          pick = std::string(c->as_string());
        }
      }
      if (pick.empty())
        for (auto const& c : o.choices)
          if (c.is_default) pick = c.key;
      if (pick.empty() && o.unlisted.enabled) pick = std::string(kUnlisted);
      html += fmt::format(R"(<label for="{}">{}</label><select name="{}" id="{}">)", field, escape(o.display_name), field, field);
      for (auto const& c : o.choices)
        html += fmt::format(R"(<option value="{}"{}>{}</option>)", escape(c.key), c.key == pick ? " selected" : "",
                            escape(c.display_name));
      if (o.unlisted.enabled)
        html += fmt::format(R"(<option value="{}"{}>{}</option>)", kUnlisted, pick == kUnlisted ? " selected" : "",
                            escape(o.unlisted.display_name_in_choices));
      html += "</select>";
      if (o.unlisted.enabled) {
        auto tfield = field + escape(kUnlistedSuffix);
        html += fmt::format(R"(<label for="{}">{}</label><input type="text" name="{}" id="{}" value="{}"{}{}>)", tfield,
                            escape(o.unlisted.display_name), tfield, tfield, escape(text),
                            o.unlisted.validation_regex.empty() ? "" : R"( pattern=")" + escape(o.unlisted.validation_regex) + "\"",
                            o.unlisted.validation_message.empty() ? "" : R"( title=")" + escape(o.unlisted.validation_message) + "\"");
      }
    }
    html += "</div>";
  }
  return html + "</fieldset>";
}

Result<json::object> profile_user_options(std::vector<Profile> const& profiles,
                                          std::vector<std::pair<std::string, std::string>> const& form) {
  json::object out;
  std::string slug;
  for (auto const& [k, v] : form)
    if (k == "profile") slug = v;
  if (!slug.empty()) {
    out["profile"] = slug;
    auto const prefix = "profile-option-" + slug + "--";
    for (auto const& [k, v] : form)
      if (k.starts_with(prefix)) out[k.substr(prefix.size())] = v;
    // Without the page's script both the select and its text field arrive: the select says
    // which one counts.
    std::vector<std::string> drop;
    for (auto const& kv : out) {
      std::string_view key = kv.key();
      if (key == "profile" || key.ends_with(kUnlistedSuffix)) continue;
      auto text_key = std::string(key) + std::string(kUnlistedSuffix);
      if (kv.value().is_string() && kv.value().as_string() == kUnlisted) drop.emplace_back(key);
      else if (out.contains(text_key)) drop.push_back(text_key);
    }
    for (auto const& kv : out)
      if (kv.value().is_string() && kv.value().as_string().empty()) drop.emplace_back(kv.key());
    for (auto const& k : drop) out.erase(k);
  }
  if (auto r = profile_overrides(profiles, out); !r) return r.error();
  return out;
}

Result<json::object> profile_overrides(std::vector<Profile> const& profiles, json::object const& user_options) {
  if (profiles.empty()) return json::object{};
  auto want = text_of(user_options.if_contains("profile"), "profile");
  if (!want) return want.error();
  Profile const* chosen = &default_profile(profiles);
  if (!want->empty()) {
    chosen = find_profile(profiles, *want);
    if (!chosen) {
      std::vector<std::string> slugs;
      for (auto const& p : profiles) slugs.push_back(p.slug);
      return make_error(Errc::bad_request, fmt::format("There is no server profile \"{}\" (the profiles are {}).", *want,
                                                       fmt::join(slugs, ", ")));
    }
  }
  json::object merged;
  merge_into(merged, chosen->override_);
  for (auto const& o : chosen->options) {
    auto text = text_of(user_options.if_contains(o.name + std::string(kUnlistedSuffix)), o.name + std::string(kUnlistedSuffix));
    if (!text) return text.error();
    auto choice = text_of(option_value(user_options, *chosen, o.name), o.name);
    if (!choice) return choice.error();
    if (!text->empty()) {
      if (!o.unlisted.enabled)
        return make_error(Errc::bad_request, fmt::format("{} in the profile {} takes no free-text value, only one of its choices.",
                                                         o.display_name, chosen->display_name));
      if (!o.unlisted.validation_regex.empty() && !regex_accepts(o.unlisted.validation_regex, *text))
        return make_error(Errc::bad_request, fmt::format("\"{}\" is not accepted for {} in the profile {}: {}", *text,
                                                         o.display_name, chosen->display_name, o.unlisted.validation_message));
      merge_into(merged, format_value(o.unlisted.override_, *text).as_object());
      continue;
    }
    ProfileChoice const* pick = nullptr;
    if (!choice->empty() && *choice != kUnlisted) {
      for (auto const& c : o.choices)
        if (c.key == *choice) pick = &c;
      if (!pick) {
        std::vector<std::string> keys;
        for (auto const& c : o.choices) keys.push_back(c.key);
        return make_error(Errc::bad_request, fmt::format("\"{}\" is not a choice of {} in the profile {} (the choices are {}).",
                                                         *choice, o.display_name, chosen->display_name, fmt::join(keys, ", ")));
      }
    } else {
      for (auto const& c : o.choices)
        if (c.is_default) pick = &c;
      if (!pick)
        return make_error(Errc::bad_request, fmt::format("{} in the profile {} needs a value.", o.display_name,
                                                         chosen->display_name));
    }
    merge_into(merged, pick->override_);
  }
  return merged;
}

}  // namespace nbhub::spawn
