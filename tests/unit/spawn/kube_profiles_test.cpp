// KubeSpawner's profile_list: parsing, the form, user_options and the overrides they select.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "spawn/kube_config.hpp"
#include "spawn/kube_profiles.hpp"

namespace nbhub::spawn::kube {
namespace {

namespace json = boost::json;

std::vector<Profile> profiles() {
  auto list = json::parse(R"([
    {"display_name": "Small <CPU>", "description": "1 core", "kubespawner_override": {"cpu_limit": 1}},
    {"display_name": "GPU server", "slug": "gpu", "default": true,
     "kubespawner_override": {"image": "example.org/gpu:1", "extra_resource_limits": {"nvidia.com/gpu": "1"}},
     "profile_options": {"image": {"display_name": "Image", "choices": {
        "pytorch": {"display_name": "PyTorch", "default": true, "kubespawner_override": {"image": "example.org/torch:2"}},
        "tf": {"display_name": "TensorFlow", "kubespawner_override": {"image": "example.org/tf:2"}}}}}}
  ])").as_array();
  auto p = parse_profiles(list);
  EXPECT_TRUE(p) << (p ? "" : p.error().message);
  return p ? *p : std::vector<Profile>{};
}

TEST(KubeProfiles, SlugsDefaultsAndEscapedForm) {
  auto p = profiles();
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].slug, "small-cpu");
  EXPECT_EQ(p[1].slug, "gpu");
  auto html = profiles_form(p);
  EXPECT_NE(html.find("Small &lt;CPU&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<CPU>"), std::string::npos);
  EXPECT_NE(html.find(R"(name="profile-option-gpu--image")"), std::string::npos);
  EXPECT_NE(html.find(R"(value="gpu" checked)"), std::string::npos);
}

TEST(KubeProfiles, DefaultProfileAndChoiceWhenNothingIsChosen) {
  auto o = profile_overrides(profiles(), {});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->at("image"), "example.org/torch:2");  // the default choice over the profile's image
  EXPECT_EQ(o->at("extra_resource_limits").at("nvidia.com/gpu"), "1");
}

TEST(KubeProfiles, FormFieldsBecomeKubeSpawnerUserOptions) {
  auto u = profile_user_options(profiles(), {{"profile", "gpu"}, {"profile-option-gpu--image", "tf"}, {"other", "x"}});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->at("profile"), "gpu");
  EXPECT_FALSE(u->contains("other"));
  auto o = profile_overrides(profiles(), *u);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->at("image"), "example.org/tf:2");
  KubeConfig base;
  auto eff = apply_kube_overrides(base, *o);
  ASSERT_TRUE(eff) << eff.error().message;
  EXPECT_EQ(eff->image, "example.org/tf:2");
  EXPECT_EQ(eff->extra_resource_limits.at("nvidia.com/gpu"), "1");
}

TEST(KubeProfiles, UnknownProfilesAndChoicesAreRefused) {
  auto bad = profile_overrides(profiles(), json::object{{"profile", "huge"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::bad_request);
  EXPECT_NE(bad.error().message.find("huge"), std::string::npos);
  auto choice = profile_overrides(profiles(), json::object{{"profile", "gpu"}, {"profile-option-gpu--image", "jax"}});
  ASSERT_FALSE(choice);
  EXPECT_NE(choice.error().message.find("jax"), std::string::npos);
}

TEST(KubeProfiles, BadListsNameTheEntry) {
  auto p = parse_profiles(json::parse(R"([{"display_name": "a"}, {"description": "no name"}])").as_array());
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("profile_list[1]"), std::string::npos);
}

TEST(KubeProfiles, NoOverrideMayChangeTheNamespace) {
  // The pod watch and the claims live in one namespace; a choice moving only some objects
  // elsewhere would split a server across namespaces.
  auto profile = parse_profiles(json::parse(R"([{"display_name": "a", "kubespawner_override": {"namespace": "x"}}])").as_array());
  ASSERT_FALSE(profile);
  EXPECT_NE(profile.error().message.find("profile_list[0].kubespawner_override.namespace"), std::string::npos);
  auto choice = parse_profiles(json::parse(R"([{"display_name": "a", "profile_options": {"o": {"choices":
      {"c": {"kubespawner_override": {"namespace": "x"}}}}}}])").as_array());
  ASSERT_FALSE(choice);
  EXPECT_NE(choice.error().message.find("profile_options.o.choices.c.kubespawner_override.namespace"), std::string::npos);
}

}  // namespace
}  // namespace nbhub::spawn::kube
