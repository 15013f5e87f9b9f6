#include "config/config_json.hpp"

#include <boost/json.hpp>

#include "config/text.hpp"

namespace nbhub::config {

namespace json = boost::json;

namespace {

json::value redacted_if(bool secret, std::string const& value) {
  if (secret && !value.empty()) return json::string(kRedacted);
  return json::string(value);
}

// Service and role tables: keys naming secrets lose their values, at any depth.
json::value redact_json(json::value v) {
  if (v.is_object()) {
    for (auto& kv : v.as_object()) {
      if (secret_like_name(kv.key()) && !(kv.value().is_string() && kv.value().as_string().empty()) &&
          !kv.value().is_null())
        kv.value() = json::string(kRedacted);
      else
        kv.value() = redact_json(std::move(kv.value()));
    }
  } else if (v.is_array()) {
    for (auto& e : v.as_array()) e = redact_json(std::move(e));
  }
  return v;
}

json::value option_value(Option const& opt, HubConfig& hub, ProviderConfig& provider) {
  auto ref = opt.field(hub, provider);
  return std::visit(
      [&](auto* f) -> json::value {
        using T = std::remove_pointer_t<decltype(f)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (opt.format == Format::json) {
            boost::system::error_code ec;
            auto parsed = json::parse(*f, ec);
            if (ec) return json::string(kRedacted);  // cannot happen: checked at load
            return redact_json(std::move(parsed));
          }
          if (opt.format == Format::url || opt.format == Format::db_url)
            return json::string(redact_url_password(*f));
          return redacted_if(opt.secret, *f);
        } else if constexpr (std::is_same_v<T, Secret>) {
          return redacted_if(true, f->reveal());
        } else if constexpr (std::is_same_v<T, bool>) {
          return *f;
        } else if constexpr (std::is_same_v<T, std::uint16_t> || std::is_same_v<T, std::size_t>) {
          return static_cast<std::uint64_t>(*f);
        } else if constexpr (std::is_same_v<T, Seconds>) {
          return static_cast<std::int64_t>(f->count());
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          json::array a;
          for (auto const& s : *f) a.emplace_back(opt.secret && !s.empty() ? kRedacted : std::string_view(s));
          return a;
        } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
          json::object o;
          for (auto const& [k, v] : *f) o[k] = redacted_if(opt.secret || secret_like_name(k), v);
          return o;
        } else {
          return json::string(to_string(*f));
        }
      },
      ref);
}

json::object source_json(Origin const* o) {
  if (!o) return {{"type", "default"}};
  switch (o->layer) {
    case Layer::env: return {{"type", "environment"}, {"variable", o->option}};
    case Layer::flag: return {{"type", "flag"}, {"flag", o->option}};
    case Layer::file: break;
  }
  return {{"type", "file"}, {"file", o->file}, {"line", o->line}, {"option", o->option}};
}

json::object entry(json::value value, Origin const* o) {
  return {{"value", std::move(value)}, {"source", source_json(o)}};
}

}  // namespace

bool secret_like_name(std::string_view name) {
  auto n = to_lower(name);
  for (auto word : {"token", "secret", "password", "passwd", "credential", "private", "apikey", "api_key"})
    if (n.find(word) != std::string::npos) return true;
  return n == "key" || n.ends_with("_key") || n.ends_with("-key");
}

std::string redact_url_password(std::string_view url) {
  // scheme://user:password@host/...: the userinfo ends at the last '@' before the path.
  auto start = url.find("://");
  if (start == std::string_view::npos) return std::string(url);
  start += 3;
  auto end = url.find_first_of("/?#", start);
  auto authority = url.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  auto colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos || colon + 1 == at) return std::string(url);
  return std::string(url.substr(0, start + colon + 1)) + std::string(kRedacted) +
         std::string(url.substr(start + at));
}

json::object config_to_json(HubConfig const& cfg, Provenance const& provenance) {
  auto hub = cfg;  // Option::field wants mutable objects
  ProviderConfig unused;
  json::object options;
  for (auto const& opt : config::options()) {
    if (opt.scope != Scope::hub) continue;
    auto it = provenance.hub.find(opt.key);
    options[opt.key] = entry(option_value(opt, hub, unused), it == provenance.hub.end() ? nullptr : &it->second);
  }
  json::array providers;
  for (std::size_t i = 0; i < hub.auth.providers.size(); ++i) {
    auto& p = hub.auth.providers[i];
    auto const* pp = i < provenance.providers.size() ? &provenance.providers[i] : nullptr;
    json::object popts;
    for (auto const& opt : config::options()) {
      if (opt.scope != Scope::provider) continue;
      Origin const* o = nullptr;
      if (pp)
        if (auto it = pp->options.find(opt.key); it != pp->options.end()) o = &it->second;
      popts[opt.key] = entry(option_value(opt, hub, p), o);
    }
    providers.push_back(json::object{{"name", p.name},
                                     {"source", source_json(pp ? &pp->declared : nullptr)},
                                     {"options", std::move(popts)}});
  }
  return {{"options", std::move(options)}, {"providers", std::move(providers)}};
}

}  // namespace nbhub::config
