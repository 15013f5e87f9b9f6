#pragma once
// The answers of an outside server (identity provider, Docker daemon, Kubernetes API) taken
// from the fuzzer's bytes, at the HttpClient seam the protocol code already uses: each call
// gets the next scripted status, Retry-After and body; a streamed 2xx body arrives in pieces
// cut where the input says. Once the input is used up every call is a transport failure, so
// the code under test also walks its error paths.
#include <fuzzer/FuzzedDataProvider.h>

#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <iterator>

#include <string>
#include <vector>

#include "http/client.hpp"

namespace nbhub::fuzz {

class ScriptedHttp final : public http::HttpClient {
 public:
  explicit ScriptedHttp(FuzzedDataProvider& in) : in_(in) {}

  std::vector<http::ClientRequest> requests;  // what the code sent, for checks

  boost::asio::awaitable<Result<http::ClientResponse>> send(http::ClientRequest req) override {
    requests.push_back(req);
    co_return next();
  }

  boost::asio::awaitable<Result<http::ClientResponse>> stream(http::ClientRequest req,
                                                              http::ChunkHandler on_chunk,
                                                              http::StreamOptions opts) override {
    requests.push_back(req);
    auto r = next();
    if (!r || r->status / 100 != 2) co_return r;
    std::string_view body = r->body;
    while (!body.empty() && !(opts.cancel && opts.cancel->cancelled())) {
      auto n = std::min<std::size_t>(body.size(), 1 + in_.ConsumeIntegralInRange<std::size_t>(0, 512));
      if (!on_chunk(body.substr(0, n))) break;
      body.remove_prefix(n);
    }
    r->body.clear();
    co_return r;
  }

 private:
  Result<http::ClientResponse> next() {
    if (in_.remaining_bytes() == 0) return Error{Errc::unavailable, "connect: connection refused"};
    static constexpr unsigned kStatuses[] = {200, 200, 200, 201, 204, 304, 400, 401, 403,
                                             404, 409, 410, 429, 500, 502, 503};
    http::ClientResponse r;
    auto pick = in_.ConsumeIntegral<std::uint8_t>();
    r.status = pick < 240 ? kStatuses[pick % std::size(kStatuses)] : 100 + pick;
    if (in_.ConsumeBool()) r.headers.emplace_back("Retry-After", in_.ConsumeRandomLengthString(16));
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = in_.ConsumeRandomLengthString(64 * 1024);
    return r;
  }

  FuzzedDataProvider& in_;
};

}  // namespace nbhub::fuzz
