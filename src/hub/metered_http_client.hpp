#pragma once
// An HttpClient that times the calls it passes on to another one, for
// nbhub_idp_request_duration_seconds{provider,endpoint,outcome} and
// nbhub_token_refreshes_total{outcome} (hub_metrics.hpp). The hub gives it to the objects that
// talk to identity providers (login flow, JWKS cache, token refresher, bearer validation), so
// the auth code records nothing itself.
//
// Labels come from a table of the configured providers' endpoint URLs (query ignored): a URL
// not in the table is provider "other", endpoint "other". A refresh-token grant (a POST to a
// token endpoint with grant_type=refresh_token) also counts a token refresh: "success" for a
// 2xx answer, "refused" for a 4xx (RFC 6749 §5.2: invalid_grant and friends), "error"
// otherwise (unreachable, 5xx).
//
// Thread-safety: as the wrapped client; the table is fixed before the first call.
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "core/snapshot.hpp"
#include "http/client.hpp"

namespace nbhub::hub {

class HubMetrics;

class MeteredHttpClient final : public http::HttpClient {
 public:
  // Both must outlive this client.
  MeteredHttpClient(http::HttpClient& inner, HubMetrics& metrics) : inner_(inner), metrics_(metrics) {}

  // Names this provider's endpoints: token, userinfo, jwks, discovery, end_session. Safe while
  // calls are in flight (a configuration reload adds providers): the table is a snapshot.
  void add_provider(config::ProviderConfig const& p);

  boost::asio::awaitable<Result<http::ClientResponse>> send(http::ClientRequest req) override;
  // Streams are not identity-provider calls (Kubernetes watches): passed on untimed.
  boost::asio::awaitable<Result<http::ClientResponse>> stream(http::ClientRequest req, http::ChunkHandler on_chunk,
                                                              http::StreamOptions opts) override;

  // The (provider, endpoint) labels of a URL.
  std::pair<std::string, std::string> labels_for(std::string_view url) const;

 private:
  http::HttpClient& inner_;
  HubMetrics& metrics_;
  using Endpoints = std::map<std::string, std::pair<std::string, std::string>, std::less<>>;
  std::mutex add_mu_;                              // serialises writers; readers take no lock
  Snapshot<Endpoints> endpoints_{Endpoints{}};
};

}  // namespace nbhub::hub
