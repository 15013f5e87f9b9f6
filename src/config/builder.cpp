#include "config/builder.hpp"

#include <boost/url/parse.hpp>

namespace nbhub::config {

bool ConfigBuilder::set(std::string_view key, Value const& v, Origin const& where) {
  auto const* opt = find_option(Scope::hub, key);
  if (!opt) {  // a bug in a loader, not in the user's file
    error(where, "internal: no option " + std::string(key));
    return false;
  }
  return set(*opt, v, where);
}

bool ConfigBuilder::set(Option const& opt, Value const& v, Origin const& where) {
  ProviderConfig unused;
  auto err = assign(opt, v, hub_, unused, where.python);
  if (!err.empty()) {
    error(where, std::move(err));
    return false;
  }
  hub_set_.insert_or_assign(opt.key, where);
  return true;
}

int ConfigBuilder::add_provider(Origin const& where) {
  hub_.auth.providers.emplace_back();
  provider_set_.emplace_back();
  provider_origin_.push_back(where);
  return provider_count() - 1;
}

bool ConfigBuilder::set_provider(int index, std::string_view key, Value const& v,
                                 Origin const& where) {
  auto const* opt = find_option(Scope::provider, key);
  if (!opt) {
    error(where, "internal: no provider option " + std::string(key));
    return false;
  }
  return set_provider(index, *opt, v, where);
}

bool ConfigBuilder::set_provider(int index, Option const& opt, Value const& v,
                                 Origin const& where) {
  auto err = assign(opt, v, hub_, hub_.auth.providers[index], where.python);
  if (!err.empty()) {
    error(where, std::move(err));
    return false;
  }
  provider_set_[index].insert_or_assign(opt.key, where);
  return true;
}

Origin const* ConfigBuilder::origin_of(int provider, std::string_view key) const {
  auto const& m = provider < 0 ? hub_set_ : provider_set_[provider];
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

Provenance ConfigBuilder::provenance() const {
  Provenance out;
  out.hub.insert(hub_set_.begin(), hub_set_.end());
  for (int i = 0; i < provider_count(); ++i) {
    ProviderProvenance p;
    p.declared = provider_origin_[i];
    p.options.insert(provider_set_[i].begin(), provider_set_[i].end());
    out.providers.push_back(std::move(p));
  }
  return out;
}

void ConfigBuilder::error(Origin const& where, std::string message) {
  diagnostics_.push_back({where.file, where.line, where.option, std::move(message), true});
}

void ConfigBuilder::warn(Origin const& where, std::string message) {
  diagnostics_.push_back({where.file, where.line, where.option, std::move(message), false});
}

std::optional<BindUrl> parse_bind_url(std::string_view url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u || !u->has_authority()) return std::nullopt;
  auto scheme = std::string(u->scheme());
  if (scheme != "http" && scheme != "https") return std::nullopt;
  BindUrl out;
  out.ip = std::string(u->encoded_host());
  if (out.ip.size() > 1 && out.ip.front() == '[' && out.ip.back() == ']')
    out.ip = out.ip.substr(1, out.ip.size() - 2);
  if (u->has_port()) {
    auto digits = u->port();
    if (digits.empty() || digits.size() > 5) return std::nullopt;
    int port = 0;
    for (char c : digits) port = port * 10 + (c - '0');  // the URL grammar allows digits only
    if (port > 65535) return std::nullopt;
    out.port = port;
  } else {
    out.port = scheme == "https" ? 443 : 80;
  }
  out.path = std::string(u->encoded_path());
  if (out.path.empty()) out.path = "/";
  return out;
}

}  // namespace nbhub::config
