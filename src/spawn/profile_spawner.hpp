#pragma once
// ProfileSpawner: profile lists (profiles.hpp) in front of any spawner. It offers the form,
// turns the posted fields into user_options, checks user_options before a start is queued, and
// at start() puts the chosen profile's overrides into SpawnRequest::trait_overrides, under
// what Python hooks already set there (a hook's explicit change wins). The inner spawner
// applies them: local and Docker through spawner_overrides.hpp, Kubernetes as a
// kubespawner_override. Everything else is the inner spawner's.
//
// The list is the configured one (set_profiles, on start-up and reload) or, when
// jupyterhub_config.py gives a function for profile_list, what that returns for the user at
// form and spawn time (set_source).
#include <functional>
#include <memory>

#include "core/snapshot.hpp"
#include "spawn/profiles.hpp"
#include "spawn/spawner.hpp"

namespace spdlog { class logger; }

namespace nbhub::spawn {

class ProfileSpawner final : public Spawner {
 public:
  // A callable profile_list: the list (JSON, unparsed) for `who`. Errc::config for a hook
  // that failed, with its message.
  using Source = std::function<net::awaitable<Result<boost::json::value>>(OptionsRequest who)>;

  ProfileSpawner(Spawner& inner, ProfileSchema schema, std::vector<Profile> profiles, spdlog::logger& log);

  // A reload: later forms and starts use `next`. Thread-safe.
  void set_profiles(std::vector<Profile> next) { profiles_.store(std::move(next)); }
  // Set once, before the first start.
  void set_source(Source source) { source_ = std::move(source); }
  ProfileSchema const& schema() const { return schema_; }

  // The list for `who`: the callable's answer, parsed, or the configured one.
  net::awaitable<Result<std::vector<Profile>>> profiles_for(OptionsRequest who);

  net::awaitable<Result<Started>> start(SpawnRequest req, ProgressSink& sink) override;
  net::awaitable<std::optional<int>> poll(boost::json::object state) override { return inner_.poll(std::move(state)); }
  net::awaitable<Result<void>> stop(boost::json::object state, bool now) override {
    return inner_.stop(std::move(state), now);
  }
  Result<void> adopt(boost::json::object const& state) override { return inner_.adopt(state); }
  net::awaitable<std::string> output_tail(boost::json::object state) override {
    return inner_.output_tail(std::move(state));
  }
  std::size_t start_limit() const override { return inner_.start_limit(); }
  net::awaitable<Result<std::string>> options_form(OptionsRequest who) override;
  net::awaitable<Result<boost::json::object>> options_from_form(
      OptionsRequest who, std::vector<std::pair<std::string, std::string>> form) override;
  net::awaitable<Result<void>> check_user_options(OptionsRequest who, boost::json::object user_options) override;
  net::awaitable<std::string> exit_reason(boost::json::object state) override {
    return inner_.exit_reason(std::move(state));
  }
  void set_exit_listener(std::function<void()> listener) override { inner_.set_exit_listener(std::move(listener)); }
  net::awaitable<std::vector<Found>> discover() override { return inner_.discover(); }

 private:
  Spawner& inner_;
  ProfileSchema schema_;
  Snapshot<std::vector<Profile>> profiles_;
  Source source_;
  spdlog::logger& log_;
};

}  // namespace nbhub::spawn
