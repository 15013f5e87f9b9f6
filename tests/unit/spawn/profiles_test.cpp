// Profile lists for every spawner (spawn/profiles.hpp): parsing, the form with saved choices,
// form fields as KubeSpawner's user_options, the overrides they select, unlisted choices, and
// the local and Docker spawners' overrides (spawn/spawner_overrides.hpp).
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "spawn/kube_config.hpp"
#include "spawn/profiles.hpp"
#include "spawn/spawner_overrides.hpp"

namespace nbhub::spawn {
namespace {

namespace json = boost::json;

ProfileSchema kube() { return kube::kube_profile_schema(); }

ProfileSchema local() {
  ProfileSchema s;
  s.where = "LocalProcessSpawner.profile_list";
  s.check_trait = [](std::string_view t) { return override_problem(OverrideTarget::local, t); };
  return s;
}

std::vector<Profile> profiles() {
  auto list = json::parse(R"([
    {"display_name": "Small <CPU>", "description": "1 core", "kubespawner_override": {"cpu_limit": 1}},
    {"display_name": "GPU server", "slug": "gpu", "default": true,
     "kubespawner_override": {"image": "example.org/gpu:1", "extra_resource_limits": {"nvidia.com/gpu": "1"}},
     "profile_options": {"image": {"display_name": "Image", "choices": {
        "pytorch": {"display_name": "PyTorch", "default": true, "kubespawner_override": {"image": "example.org/torch:2"}},
        "tf": {"display_name": "TensorFlow", "kubespawner_override": {"image": "example.org/tf:2"}}},
        "unlisted_choice": {"enabled": true, "display_name": "Image name", "validation_regex": "^example\\.org/",
                            "validation_message": "Images from example.org only.",
                            "kubespawner_override": {"image": "{value}", "environment": {"PICKED": "{value}{{x}}"}}}}}}
  ])");
  auto p = parse_profiles(list, kube());
  EXPECT_TRUE(p) << (p ? "" : p.error().message);
  return p ? *p : std::vector<Profile>{};
}

TEST(Profiles, SlugsDefaultsAndEscapedForm) {
  auto p = profiles();
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].slug, "small-cpu");
  EXPECT_EQ(p[1].slug, "gpu");
  EXPECT_FALSE(p[0].is_default);
  auto html = profiles_form(p);
  EXPECT_NE(html.find("Small &lt;CPU&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<CPU>"), std::string::npos);
  EXPECT_NE(html.find(R"(name="profile-option-gpu--image")"), std::string::npos);
  EXPECT_NE(html.find(R"(value="gpu" checked)"), std::string::npos);
  EXPECT_NE(html.find(R"(<option value="pytorch" selected>)"), std::string::npos);
  EXPECT_NE(html.find(R"(name="profile-option-gpu--image--unlisted-choice")"), std::string::npos);
  EXPECT_NE(html.find(R"(pattern="^example\.org/")"), std::string::npos);
}

TEST(Profiles, SavedChoicesArePreSelected) {
  auto p = profiles();
  auto html = profiles_form(p, json::object{{"profile", "gpu"}, {"image", "tf"}});
  EXPECT_NE(html.find(R"(<option value="tf" selected>)"), std::string::npos);
  EXPECT_EQ(html.find(R"(<option value="pytorch" selected>)"), std::string::npos);
  html = profiles_form(p, json::object{{"profile", "small-cpu"}});
  EXPECT_NE(html.find(R"(value="small-cpu" checked)"), std::string::npos);
  EXPECT_EQ(html.find(R"(value="gpu" checked)"), std::string::npos);
  html = profiles_form(p, json::object{{"profile", "gpu"}, {"image--unlisted-choice", "example.org/mine:1"}});
  EXPECT_NE(html.find(R"(<option value="unlisted-choice" selected>)"), std::string::npos);
  EXPECT_NE(html.find(R"(value="example.org/mine:1")"), std::string::npos);
  // Saved options the list no longer has fall back to the defaults.
  html = profiles_form(p, json::object{{"profile", "gone"}});
  EXPECT_NE(html.find(R"(value="gpu" checked)"), std::string::npos);
}

TEST(Profiles, DefaultProfileAndChoiceWhenNothingIsChosen) {
  auto o = profile_overrides(profiles(), {});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->at("image"), "example.org/torch:2");  // the default choice over the profile's image
  EXPECT_EQ(o->at("extra_resource_limits").at("nvidia.com/gpu"), "1");
}

TEST(Profiles, FormFieldsBecomeKubeSpawnerUserOptions) {
  auto u = profile_user_options(profiles(), {{"profile", "gpu"}, {"profile-option-gpu--image", "tf"},
                                             {"profile-option-gpu--image--unlisted-choice", ""}, {"other", "x"}});
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(*u, (json::object{{"profile", "gpu"}, {"image", "tf"}}));
  auto o = profile_overrides(profiles(), *u);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->at("image"), "example.org/tf:2");
  kube::KubeConfig base;
  auto eff = kube::apply_kube_overrides(base, *o);
  ASSERT_TRUE(eff) << eff.error().message;
  EXPECT_EQ(eff->image, "example.org/tf:2");
  EXPECT_EQ(eff->extra_resource_limits.at("nvidia.com/gpu"), "1");
  // nbhub's earlier user_options keys (the form field names) still select the same.
  auto old = profile_overrides(profiles(), json::object{{"profile", "gpu"}, {"profile-option-gpu--image", "tf"}});
  ASSERT_TRUE(old);
  EXPECT_EQ(old->at("image"), "example.org/tf:2");
}

TEST(Profiles, UnlistedChoiceIsFormattedAndChecked) {
  // Without the page's script the select says "unlisted-choice" and the text field is sent too.
  auto u = profile_user_options(profiles(), {{"profile", "gpu"}, {"profile-option-gpu--image", "unlisted-choice"},
                                             {"profile-option-gpu--image--unlisted-choice", "example.org/mine:1"}});
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(*u, (json::object{{"profile", "gpu"}, {"image--unlisted-choice", "example.org/mine:1"}}));
  auto o = profile_overrides(profiles(), *u);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->at("image"), "example.org/mine:1");
  EXPECT_EQ(o->at("environment").at("PICKED"), "example.org/mine:1{x}");
  auto bad = profile_overrides(profiles(), json::object{{"profile", "gpu"}, {"image--unlisted-choice", "evil/x"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::bad_request);
  EXPECT_NE(bad.error().message.find("Images from example.org only."), std::string::npos);
}

TEST(Profiles, UnknownProfilesAndChoicesAreRefused) {
  auto bad = profile_overrides(profiles(), json::object{{"profile", "huge"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::bad_request);
  EXPECT_NE(bad.error().message.find("huge"), std::string::npos);
  EXPECT_NE(bad.error().message.find("small-cpu, gpu"), std::string::npos);
  auto choice = profile_overrides(profiles(), json::object{{"profile", "gpu"}, {"image", "jax"}});
  ASSERT_FALSE(choice);
  EXPECT_NE(choice.error().message.find("jax"), std::string::npos);
  auto type = profile_overrides(profiles(), json::object{{"profile", 3}});
  ASSERT_FALSE(type);
  EXPECT_EQ(type.error().code, Errc::bad_request);
}

TEST(Profiles, BadListsNameTheEntry) {
  auto p = parse_profiles(json::parse(R"([{"display_name": "a"}, {"description": "no name"}])"), kube());
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("profile_list[1]"), std::string::npos);
  auto dup = parse_profiles(json::parse(R"([{"display_name": "A"}, {"display_name": "a"}])"), kube());
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("slug \"a\""), std::string::npos);
  auto re = parse_profiles(json::parse(R"([{"display_name": "a", "profile_options": {"o": {"unlisted_choice":
      {"enabled": true, "validation_regex": "("}}}}])"), kube());
  ASSERT_FALSE(re);
  EXPECT_NE(re.error().message.find("validation_regex"), std::string::npos);
}

TEST(Profiles, DictListsAreTakenInKeyOrder) {
  auto p = parse_profiles(json::parse(R"({"b": {"display_name": "B"}, "a": {"display_name": "A"}})"), kube());
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].slug, "a");
  EXPECT_TRUE((*p)[0].is_default);
}

TEST(Profiles, NoOverrideMayChangeTheNamespace) {
  // The pod watch and the claims live in one namespace; a choice moving only some objects
  // elsewhere would split a server across namespaces.
  auto profile = parse_profiles(json::parse(R"([{"display_name": "a", "kubespawner_override": {"namespace": "x"}}])"), kube());
  ASSERT_FALSE(profile);
  EXPECT_NE(profile.error().message.find("profile_list[0].kubespawner_override.namespace"), std::string::npos);
  auto choice = parse_profiles(json::parse(R"([{"display_name": "a", "profile_options": {"o": {"choices":
      {"c": {"kubespawner_override": {"namespace": "x"}}}}}}])"), kube());
  ASSERT_FALSE(choice);
  EXPECT_NE(choice.error().message.find("profile_options.o.choices.c.kubespawner_override.namespace"), std::string::npos);
}

TEST(Profiles, LocalSpawnerOverridesAreCheckedAndApplied) {
  auto refused = parse_profiles(json::parse(R"([{"display_name": "a", "spawner_override": {"mem_limit": "1G"}}])"), local());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("LocalProcessSpawner.profile_list[0].spawner_override.mem_limit"), std::string::npos);
  auto p = parse_profiles(json::parse(R"([{"display_name": "Lab", "spawner_override":
      {"default_url": "/lab", "environment": {"A": "1"}, "args": ["--debug"]}}])"), local());
  ASSERT_TRUE(p) << p.error().message;
  auto o = profile_overrides(*p, {});
  ASSERT_TRUE(o);
  SpawnerConfig cfg;
  cfg.environment = {{"KEEP", "k"}, {"A", "0"}};
  auto eff = apply_local_overrides(cfg, *o);
  ASSERT_TRUE(eff) << eff.error().message;
  EXPECT_EQ(eff->default_url, "/lab");
  EXPECT_EQ(eff->environment.at("A"), "1");
  EXPECT_EQ(eff->environment.at("KEEP"), "k");  // merged, not replaced
  EXPECT_EQ(eff->args, std::vector<std::string>{"--debug"});
  // The --allow-root that spawner.allow_root_servers added survives new args.
  cfg.allow_root_servers = true;
  cfg.args = {"--allow-root"};
  auto root = apply_local_overrides(cfg, json::object{{"args", json::array{"--debug"}}});
  ASSERT_TRUE(root);
  EXPECT_EQ(root->args, (std::vector<std::string>{"--debug", "--allow-root"}));
  auto wrong = apply_local_overrides(cfg, json::object{{"default_url", 3}});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::bad_request);
  EXPECT_NE(wrong.error().message.find("default_url"), std::string::npos);
}

TEST(Profiles, DockerOverridesApplyImageLimitsAndVolumes) {
  DockerSettings s;
  s.docker.volumes = {{"/srv/shared", "/shared", false}, {"/srv/a", "/a", false}};
  auto eff = apply_docker_overrides(s, json::parse(R"({"image": "example.org/r:4", "mem_limit": "1G", "cpu_limit": 2,
      "volumes": {"/srv/a": "/data"}, "cmd": ["start.sh"], "environment": {"X": "y"}})").as_object());
  ASSERT_TRUE(eff) << eff.error().message;
  EXPECT_EQ(eff->docker.image, "example.org/r:4");
  EXPECT_EQ(eff->docker.mem_limit, std::int64_t{1} << 30);
  EXPECT_EQ(eff->docker.cpu_limit, 2.0);
  ASSERT_EQ(eff->docker.volumes.size(), 2u);
  EXPECT_EQ(eff->docker.volumes[0].source, "/srv/shared");
  EXPECT_EQ(eff->docker.volumes[1].target, "/data");
  EXPECT_EQ(eff->cfg.cmd, std::vector<std::string>{"start.sh"});
  EXPECT_EQ(eff->cfg.environment.at("X"), "y");
  auto bad = apply_docker_overrides(s, json::object{{"mem_limit", "lots"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::bad_request);
  auto unknown = apply_docker_overrides(s, json::object{{"privileged", true}});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("privileged"), std::string::npos);
}

}  // namespace
}  // namespace nbhub::spawn
