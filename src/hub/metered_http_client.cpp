#include "hub/metered_http_client.hpp"

#include <chrono>

#include "hub/hub_metrics.hpp"

namespace nbhub::hub {

namespace net = boost::asio;

namespace {

std::string_view without_query(std::string_view url) { return url.substr(0, url.find_first_of("?#")); }

}  // namespace

void MeteredHttpClient::add_provider(config::ProviderConfig const& p) {
  std::lock_guard lock(add_mu_);
  auto next = *endpoints_.load();
  auto add = [&](std::string const& url, char const* endpoint) {
    if (!url.empty()) next.emplace(std::string(without_query(url)), std::pair{p.name, std::string(endpoint)});
  };
  add(p.token_url, "token");
  add(p.userdata_url, "userinfo");
  add(p.jwks_url, "jwks");
  add(p.end_session_url, "end_session");
  if (!p.issuer.empty()) {
    auto issuer = p.issuer;
    while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
    add(issuer + "/.well-known/openid-configuration", "discovery");
  }
  endpoints_.store(std::move(next));
}

std::pair<std::string, std::string> MeteredHttpClient::labels_for(std::string_view url) const {
  auto const endpoints = endpoints_.load();
  if (auto it = endpoints->find(without_query(url)); it != endpoints->end()) return it->second;
  return {"other", "other"};
}

net::awaitable<Result<http::ClientResponse>> MeteredHttpClient::send(http::ClientRequest req) {
  auto [provider, endpoint] = labels_for(req.url);
  bool const refresh = endpoint == "token" && req.body.find("grant_type=refresh_token") != std::string::npos;
  auto const t0 = std::chrono::steady_clock::now();
  auto r = co_await inner_.send(std::move(req));
  auto took = std::chrono::steady_clock::now() - t0;
  // Outcome: the class of the answer, or "error" when there was none (unreachable, timeout).
  std::string_view outcome = !r ? "error" : r->status < 300 ? "2xx" : r->status < 400 ? "3xx" : r->status < 500 ? "4xx" : "5xx";
  metrics_.idp_call(provider, endpoint, outcome, took);
  if (refresh) metrics_.token_refresh(!r || r->status >= 500 ? "error" : r->status < 300 ? "success" : "refused");
  co_return r;
}

net::awaitable<Result<http::ClientResponse>> MeteredHttpClient::stream(http::ClientRequest req, http::ChunkHandler on_chunk,
                                                                       http::StreamOptions opts) {
  co_return co_await inner_.stream(std::move(req), std::move(on_chunk), std::move(opts));
}

}  // namespace nbhub::hub
