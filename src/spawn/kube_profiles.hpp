#pragma once
// KubeSpawner's profile_list (z2jh singleuser.profileList): named sets of trait overrides a
// user picks on the spawn page, each with optional choices (profile_options). The form fields
// and user_options keys are KubeSpawner's: `profile` = the profile's slug and
// `profile-option-<profile slug>--<option name>` = the choice's key, so API clients written
// for KubeSpawner send the same body.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace nbhub::spawn::kube {

struct ProfileChoice {
  std::string key;  // the choice's key in `choices`
  std::string display_name;
  bool is_default = false;
  boost::json::object override_;  // kubespawner_override
};

struct ProfileOption {
  std::string name;  // the option's key in `profile_options`
  std::string display_name;
  std::vector<ProfileChoice> choices;
};

struct Profile {
  std::string slug;  // `slug`, else the display name lower-cased with runs of other characters as '-'
  std::string display_name;
  std::string description;
  bool is_default = false;
  boost::json::object override_;
  std::vector<ProfileOption> options;
};

// Errc::config naming the entry ("KubeSpawner.profile_list[1].profile_options.image: ...").
Result<std::vector<Profile>> parse_profiles(boost::json::array const& list);

// Radio buttons for the profiles, a select per option; every text escaped.
std::string profiles_form(std::vector<Profile> const& profiles);

// The posted fields as user_options; Errc::bad_request for an unknown profile or choice.
Result<boost::json::object> profile_user_options(std::vector<Profile> const& profiles,
                                                 std::vector<std::pair<std::string, std::string>> const& form);

// The trait overrides user_options select: the profile's, then each option's choice (the
// default profile and default choices when user_options names none). Errc::bad_request for
// an unknown profile or choice.
Result<boost::json::object> profile_overrides(std::vector<Profile> const& profiles,
                                              boost::json::object const& user_options);

}  // namespace nbhub::spawn::kube
