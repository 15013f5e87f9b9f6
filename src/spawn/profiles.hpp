#pragma once
// Profile lists for every spawner (issue 23 item 5): KubeSpawner's profile_list schema (z2jh
// singleuser.profileList), named sets of spawner-setting overrides a user picks on the spawn
// page, each with optional choices (profile_options) and a free-text unlisted_choice.
//
// The spawner-neutral part: parsing with the entry's path in every message, the form, the
// form fields as user_options and the overrides user_options select. Which override keys a
// spawner can apply is the caller's (ProfileSchema::check_trait); applying them is the
// spawner's (spawner_overrides.hpp, KubeSpawner's apply_kube_overrides).
//
// Names are KubeSpawner 7's, so forms, API clients and saved user_options carry over:
//   form fields   `profile` = the profile's slug, `profile-option-<slug>--<option>` = a choice
//                 key or "unlisted-choice", `profile-option-<slug>--<option>--unlisted-choice`
//                 = the free text;
//   user_options  {"profile": slug, "<option>": choice, "<option>--unlisted-choice": text}.
// user_options written as form fields (`profile-option-<slug>--<option>`, what nbhub before
// issue 23 stored) are read too.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace nbhub::spawn {

struct ProfileChoice {
  std::string key;  // the choice's key in `choices`
  std::string display_name;
  bool is_default = false;
  boost::json::object override_;
};

// A free-text choice: its override's strings have "{value}" replaced by the text.
struct UnlistedChoice {
  bool enabled = false;
  std::string display_name;             // the text field's label
  std::string display_name_in_choices;  // the select's entry, "Other..."
  std::string validation_regex;         // ECMAScript, anchored at the start as Python's re.match
  std::string validation_message;
  boost::json::object override_;
};

struct ProfileOption {
  std::string name;  // the option's key in `profile_options`
  std::string display_name;
  std::vector<ProfileChoice> choices;  // one is_default (the first unless one says so)
  UnlistedChoice unlisted;
};

struct Profile {
  std::string slug;  // `slug`, else the display name lower-cased with runs of other characters as '-'
  std::string display_name;
  std::string description;
  bool is_default = false;  // exactly one profile of a parsed list has it
  boost::json::object override_;
  std::vector<ProfileOption> options;
};

// What a spawner accepts in its profiles.
struct ProfileSchema {
  std::string where = "Spawner.profile_list";  // names the list in messages
  // Keys holding overrides, first found wins: KubeSpawner's `kubespawner_override`, and
  // `spawner_override` for a list written for the local or Docker spawner.
  std::vector<std::string> override_keys{"kubespawner_override", "spawner_override"};
  // "" when the spawner can apply an override of `trait`, else why not.
  std::function<std::string(std::string_view trait)> check_trait;
};

// A list (or a dict, whose values are taken in key order as KubeSpawner does). Errc::config
// naming the entry ("DockerSpawner.profile_list[1].profile_options.image.choices.x: ...").
Result<std::vector<Profile>> parse_profiles(boost::json::value const& list, ProfileSchema const& schema);

// Radio buttons for the profiles, a select per option (plus a text field for an unlisted
// choice); every text escaped. `selected` (the last user_options) picks the checked profile and
// selected choices when they are valid for this list; otherwise the defaults are.
std::string profiles_form(std::vector<Profile> const& profiles, boost::json::object const& selected = {});

// KubeSpawner's options_from_form: the posted fields of the chosen profile as user_options,
// checked (Errc::bad_request for an unknown profile or choice, or an unlisted choice that is
// off or does not match its validation_regex).
Result<boost::json::object> profile_user_options(std::vector<Profile> const& profiles,
                                                 std::vector<std::pair<std::string, std::string>> const& form);

// The overrides user_options select: the profile's, then each option's choice (the default
// profile and choices where user_options names none); dicts are merged into what came before,
// as KubeSpawner merges dict traits. Errc::bad_request, saying which value is wrong, for an
// unknown profile or choice or a refused unlisted choice.
Result<boost::json::object> profile_overrides(std::vector<Profile> const& profiles,
                                              boost::json::object const& user_options);

// Python's str.format(value=...) over every string in `v`: "{value}" replaced, "{{" "}}" kept
// as single braces (KubeSpawner's recursive_format for unlisted choices).
boost::json::value format_value(boost::json::value const& v, std::string_view value);

}  // namespace nbhub::spawn
