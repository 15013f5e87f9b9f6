#pragma once
// KubeApi: the Kubernetes API calls the spawner makes, over nbhub's own async HTTP client
// (http/client.hpp): JSON in and out, the bearer token, Status bodies turned into messages,
// and watches as a stream of events. Only the verbs of z2jh's hub Role are ever sent (get,
// list, watch, create, delete; spec kubernetes.md §1.6): there is no patch or update here.
//
// Credentials: a fixed token, or the service-account token file, re-read once the copy is a
// minute old and at once after a 401 (bound tokens expire; the kubelet rotates the file), as
// the official clients do.
//
// Thread-safety: every method may be called from any thread and executor.
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "http/client.hpp"
#include "spawn/kube_config.hpp"

namespace spdlog { class logger; }

namespace nbhub::spawn::kube {

namespace net = boost::asio;

struct ApiReply {
  unsigned status = 0;
  boost::json::value body;  // the object, list or Status; null when the body was not JSON
  // From a Status body: "pods \"x\" not found"; the reason ("NotFound", "AlreadyExists").
  std::string message;
  std::string reason;
  std::chrono::seconds retry_after{0};  // 429's Retry-After
  bool ok() const { return status / 100 == 2; }
};

// One watch event: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, and its object.
struct WatchEvent {
  std::string type;
  boost::json::object object;
};

class KubeApi {
 public:
  // References must outlive the api object and every call in flight.
  KubeApi(ApiAccess access, http::HttpClient& http, std::chrono::seconds request_timeout,
          spdlog::logger& log);

  // One request. `path` starts with /api/ and may carry a query. A transport failure is an
  // error (Errc::unavailable, naming the method and path); any HTTP status is a reply.
  net::awaitable<Result<ApiReply>> call(std::string method, std::string path,
                                        std::optional<boost::json::value> body = std::nullopt);

  // A watch request (`path` carries watch=true and timeoutSeconds). Each event line goes to
  // `on_event`; returning false ends the watch. Completes when the server ends the stream
  // (the reply's status is 200), or with the error reply (410 and the like) when the server
  // refused it; a connection that breaks or stays silent for `stall` is Errc::unavailable.
  net::awaitable<Result<ApiReply>> watch(std::string path,
                                         std::function<bool(WatchEvent&&)> on_event,
                                         std::chrono::seconds timeout, std::chrono::seconds stall,
                                         std::shared_ptr<http::StreamCancel> cancel = nullptr);

  // Requests sent so far (for logs and tests of the traffic budget).
  std::uint64_t requests_sent() const { return requests_.load(); }

  // "<what>: <Status message> (HTTP <code> <reason>)", the form every spawner error uses.
  static std::string describe(std::string const& what, ApiReply const& r);

 private:
  Result<std::string> bearer(bool force_reload);
  http::ClientRequest request(std::string const& method, std::string const& path,
                              std::string const& token);

  ApiAccess const access_;
  http::HttpClient& http_;
  std::chrono::seconds const request_timeout_;
  spdlog::logger& log_;
  std::atomic<std::uint64_t> requests_{0};
  std::mutex mu_;
  std::string token_;                                    // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point token_read_{};   // GUARDED_BY(mu_)
};

// "/api/v1/namespaces/<ns>/<resource>[/<name>]", names percent-encoded.
std::string core_path(std::string const& ns, std::string const& resource,
                      std::string const& name = "");
// Query-string encoding of one value (RFC 3986 unreserved kept).
std::string query_escape(std::string const& v);

}  // namespace nbhub::spawn::kube
