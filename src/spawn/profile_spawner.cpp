#include "spawn/profile_spawner.hpp"

#include <spdlog/spdlog.h>

namespace nbhub::spawn {

namespace json = boost::json;

ProfileSpawner::ProfileSpawner(Spawner& inner, ProfileSchema schema, std::vector<Profile> profiles,
                               spdlog::logger& log)
    : inner_(inner), schema_(std::move(schema)), profiles_(std::move(profiles)), log_(log) {}

net::awaitable<Result<std::vector<Profile>>> ProfileSpawner::profiles_for(OptionsRequest who) {
  if (!source_) co_return *profiles_.load();
  auto list = co_await source_(std::move(who));
  if (!list) co_return list.error();
  auto parsed = parse_profiles(*list, schema_);
  if (!parsed) co_return make_error(Errc::config, "the profile_list function returned a list nbhub cannot use: " +
                                                      parsed.error().message);
  co_return std::move(*parsed);
}

net::awaitable<Result<std::string>> ProfileSpawner::options_form(OptionsRequest who) {
  auto const last = who.last_user_options;
  auto profiles = co_await profiles_for(who);
  if (!profiles) co_return profiles.error();
  if (profiles->empty()) co_return co_await inner_.options_form(std::move(who));
  co_return profiles_form(*profiles, last);
}

net::awaitable<Result<json::object>> ProfileSpawner::options_from_form(
    OptionsRequest who, std::vector<std::pair<std::string, std::string>> form) {
  auto profiles = co_await profiles_for(who);
  if (!profiles) co_return profiles.error();
  if (profiles->empty()) co_return co_await inner_.options_from_form(std::move(who), std::move(form));
  co_return profile_user_options(*profiles, form);
}

net::awaitable<Result<void>> ProfileSpawner::check_user_options(OptionsRequest who, json::object user_options) {
  auto profiles = co_await profiles_for(who);
  if (!profiles) co_return profiles.error();
  if (profiles->empty()) co_return co_await inner_.check_user_options(std::move(who), std::move(user_options));
  auto overrides = profile_overrides(*profiles, user_options);
  if (!overrides) co_return overrides.error();
  co_return co_await inner_.check_user_options(std::move(who), std::move(user_options));
}

net::awaitable<Result<Started>> ProfileSpawner::start(SpawnRequest req, ProgressSink& sink) {
  // A profile_list function sees the options of this start (KubeSpawner's load_user_options).
  OptionsRequest who{req.user, req.server_name, req.admin, req.user_options};
  auto profiles = co_await profiles_for(std::move(who));
  if (!profiles) co_return profiles.error();
  if (!profiles->empty()) {
    auto overrides = profile_overrides(*profiles, req.user_options);
    if (!overrides) co_return overrides.error();
    // What hooks set wins: they ran knowing the user's choice (user_options).
    for (auto const& [k, v] : req.trait_overrides) (*overrides)[k] = v;
    req.trait_overrides = std::move(*overrides);
    if (auto const* p = req.user_options.if_contains("profile"); p && p->is_string())
      log_.info("spawn of {}: profile {}", req.user, std::string(p->as_string()));
  }
  co_return co_await inner_.start(std::move(req), sink);
}

}  // namespace nbhub::spawn
