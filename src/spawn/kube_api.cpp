#include "spawn/kube_api.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <fmt/format.h>
#include <spdlog/logger.h>


namespace nbhub::spawn::kube {

namespace json = boost::json;

namespace {

// A Kubernetes Status body's message and reason, if the body is one.
void read_status(ApiReply& r) {
  if (!r.body.is_object()) return;
  auto const& o = r.body.as_object();
  auto kind = o.if_contains("kind");
  if (!kind || !kind->is_string() || kind->as_string() != "Status") return;
  if (auto m = o.if_contains("message"); m && m->is_string()) r.message = std::string(m->as_string());
  if (auto m = o.if_contains("reason"); m && m->is_string()) r.reason = std::string(m->as_string());
}

ApiReply to_reply(http::ClientResponse const& resp) {
  ApiReply r;
  r.status = resp.status;
  boost::system::error_code ec;
  auto v = json::parse(resp.body, ec);
  if (!ec) r.body = std::move(v);
  read_status(r);
  if (r.message.empty() && !r.ok()) r.message = resp.body.substr(0, 200);
  if (auto ra = resp.header("Retry-After"); !ra.empty()) {
    try {
      r.retry_after = std::chrono::seconds(std::stoi(ra));
    } catch (...) {
    }
  }
  return r;
}

// Splits a watch body into lines; each line is one JSON event.
class LineSplitter {
 public:
  explicit LineSplitter(std::function<bool(WatchEvent&&)> on_event, spdlog::logger& log)
      : on_event_(std::move(on_event)), log_(log) {}
  bool feed(std::string_view chunk) {
    buf_.append(chunk);
    std::size_t start = 0;
    for (;;) {
      auto nl = buf_.find('\n', start);
      if (nl == std::string::npos) break;
      auto line = std::string_view(buf_).substr(start, nl - start);
      start = nl + 1;
      if (line.empty()) continue;
      if (!deliver(line)) return false;
    }
    buf_.erase(0, start);
    // One event is one object; a line this long is not a watch event.
    if (buf_.size() > kMaxLine) {
      log_.warn("kubernetes: a watch event over {} bytes; ending the watch", kMaxLine);
      return false;
    }
    return true;
  }

 private:
  static constexpr std::size_t kMaxLine = 4 << 20;
  bool deliver(std::string_view line) {
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (ec || !v.is_object()) {
      log_.warn("kubernetes: ignoring a watch line that is not a JSON object");
      return true;
    }
    auto& o = v.as_object();
    auto type = o.if_contains("type");
    auto obj = o.if_contains("object");
    if (!type || !type->is_string() || !obj || !obj->is_object()) {
      log_.warn("kubernetes: ignoring a watch line without type and object");
      return true;
    }
    return on_event_(WatchEvent{std::string(type->as_string()), std::move(obj->as_object())});
  }
  std::function<bool(WatchEvent&&)> on_event_;
  spdlog::logger& log_;
  std::string buf_;
};

}  // namespace

std::string query_escape(std::string const& v) {
  return boost::urls::encode(v, boost::urls::unreserved_chars);
}

std::string core_path(std::string const& ns, std::string const& resource, std::string const& name) {
  auto p = "/api/v1/namespaces/" + query_escape(ns) + "/" + resource;
  if (!name.empty()) p += "/" + query_escape(name);
  return p;
}

KubeApi::KubeApi(ApiAccess access, http::HttpClient& http, std::chrono::seconds request_timeout,
                 spdlog::logger& log)
    : access_(std::move(access)), http_(http), request_timeout_(request_timeout), log_(log) {}

std::string KubeApi::describe(std::string const& what, ApiReply const& r) {
  auto reason = r.reason.empty() ? std::string() : " " + r.reason;
  return fmt::format("kubernetes: {}: {} (HTTP {}{})", what,
                     r.message.empty() ? std::string("no message") : r.message, r.status, reason);
}

Result<std::string> KubeApi::bearer(bool force_reload) {
  if (access_.token_file.empty()) return access_.token;
  std::lock_guard lock(mu_);
  // Freshness of a file, not hub time: the steady clock is enough here.
  auto now = std::chrono::steady_clock::now();
  if (force_reload || token_.empty() || now - token_read_ > std::chrono::minutes(1)) {
    auto t = read_trimmed_file(access_.token_file);
    if (!t)
      return make_error(Errc::unavailable, "kubernetes: cannot read the service-account token " +
                                               access_.token_file);
    token_ = std::move(*t);
    token_read_ = now;
  }
  return token_;
}

http::ClientRequest KubeApi::request(std::string const& method, std::string const& path,
                                     std::string const& token) {
  http::ClientRequest req;
  req.method = method;
  req.url = access_.url + path;
  req.headers.emplace_back("Accept", "application/json");
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  req.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(request_timeout_);
  return req;
}

net::awaitable<Result<ApiReply>> KubeApi::call(std::string method, std::string path,
                                               std::optional<json::value> body) {
  for (int attempt = 0;; ++attempt) {
    auto token = bearer(attempt > 0);
    if (!token) co_return token.error();
    auto req = request(method, path, *token);
    if (body) {
      req.headers.emplace_back("Content-Type", "application/json");
      req.body = json::serialize(*body);
    }
    ++requests_;
    auto r = co_await http_.send(std::move(req));
    if (!r) {
      auto e = r.error();
      e.message = "kubernetes: " + e.message;
      co_return e;
    }
    // A 401 right after the kubelet rotated the token file: read it again, once.
    if (r->status == 401 && attempt == 0 && !access_.token_file.empty()) continue;
    co_return to_reply(*r);
  }
}

net::awaitable<Result<ApiReply>> KubeApi::watch(std::string path,
                                                std::function<bool(WatchEvent&&)> on_event,
                                                std::chrono::seconds timeout,
                                                std::chrono::seconds stall,
                                                std::shared_ptr<http::StreamCancel> cancel) {
  for (int attempt = 0;; ++attempt) {
    auto token = bearer(attempt > 0);
    if (!token) co_return token.error();
    auto req = request("GET", path, *token);
    // The server ends the body at timeoutSeconds; the margin lets it do so itself.
    req.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout + std::chrono::seconds(30));
    auto splitter = std::make_shared<LineSplitter>(on_event, log_);
    http::StreamOptions opts{.idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(stall),
                             .cancel = cancel};
    ++requests_;
    auto r = co_await http_.stream(std::move(req), [splitter](std::string_view chunk) { return splitter->feed(chunk); },
                                   opts);
    if (!r) {
      auto e = r.error();
      e.message = "kubernetes: watch " + e.message;
      co_return e;
    }
    if (r->status == 401 && attempt == 0 && !access_.token_file.empty()) continue;
    co_return to_reply(*r);
  }
}

}  // namespace nbhub::spawn::kube
