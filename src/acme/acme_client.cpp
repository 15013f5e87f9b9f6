#include "acme/acme_client.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/logger.h>

#include <charconv>

#include "acme/jws_request.hpp"
#include "core/crypto.hpp"

namespace nbhub::acme {

namespace net = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::string_view kBadNonce = "urn:ietf:params:acme:error:badNonce";

std::optional<json::object> json_object(std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::string str(json::object const& o, std::string_view key) {
  auto const* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string{};
}

std::vector<std::string> strings(json::object const& o, std::string_view key) {
  std::vector<std::string> out;
  if (auto const* v = o.if_contains(key); v && v->is_array())
    for (auto const& e : v->as_array())
      if (e.is_string()) out.emplace_back(e.as_string());
  return out;
}

std::string describe(Problem const& p) {
  return p.detail.empty() ? p.type : p.type + ": " + p.detail;
}

// An "error" member (a problem document inside an order, authorization or challenge).
std::string embedded_problem(json::object const& o) {
  auto const* e = o.if_contains("error");
  if (!e || !e->is_object()) return {};
  return describe(Problem{str(e->as_object(), "type"), str(e->as_object(), "detail")});
}

Authorization authorization_from(std::string url, json::object const& o) {
  Authorization a;
  a.url = std::move(url);
  a.status = str(o, "status");
  if (auto const* id = o.if_contains("identifier"); id && id->is_object())
    a.domain = str(id->as_object(), "value");
  if (auto const* cs = o.if_contains("challenges"); cs && cs->is_array())
    for (auto const& c : cs->as_array()) {
      if (!c.is_object()) continue;
      auto const& co = c.as_object();
      a.challenges.push_back({str(co, "type"), str(co, "url"), str(co, "token"), str(co, "status")});
      if (auto why = embedded_problem(co); !why.empty()) a.error = why;
    }
  return a;
}

Order order_from(std::string url, json::object const& o) {
  return Order{std::move(url),       str(o, "status"),      strings(o, "authorizations"),
               str(o, "finalize"),   str(o, "certificate"), embedded_problem(o)};
}

Error not_acme(std::string_view step, std::string_view url, std::string_view what) {
  return make_error(Errc::bad_gateway, fmt::format("acme {} ({}): {}", step, url, what));
}

}  // namespace

Sleep timer_sleep() {
  return [](std::chrono::milliseconds d) -> net::awaitable<void> {
    net::steady_timer t(co_await net::this_coro::executor, d);
    boost::system::error_code ec;
    co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
  };
}

std::optional<Problem> parse_problem(http::ClientResponse const& res) {
  auto o = json_object(res.body);
  if (!o) return std::nullopt;
  Problem p{str(*o, "type"), str(*o, "detail")};
  if (p.type.empty() && p.detail.empty()) return std::nullopt;
  return p;
}

Error problem_error(std::string_view step, std::string_view url, http::ClientResponse const& res) {
  auto const code = res.status == 429 || res.status >= 500 ? Errc::unavailable
                    : res.status >= 400                    ? Errc::bad_request
                                                           : Errc::bad_gateway;
  std::string msg = fmt::format("acme {} ({}): HTTP {}", step, url, res.status);
  if (auto p = parse_problem(res))
    msg += " " + describe(*p);
  else if (res.status >= 400)
    msg += " without a problem document";
  return make_error(code, std::move(msg));
}

AcmeClient::AcmeClient(http::HttpClient& http, Clock const& clock, AcmeClientOptions opts,
                       Sleep sleep, spdlog::logger& log)
    : http_(http), clock_(clock), opts_(std::move(opts)), sleep_(std::move(sleep)), log_(log) {}

net::awaitable<Result<void>> AcmeClient::load_directory() {
  if (have_directory_) co_return Result<void>{};
  // A named request: GCC 12 destroys a braced temporary coroutine argument twice.
  http::ClientRequest req{.method = "GET", .url = opts_.directory_url};
  auto res = co_await http_.send(std::move(req));
  if (!res) co_return make_error(res.error().code, "acme directory: " + res.error().message);
  if (res->status != 200) co_return problem_error("directory", opts_.directory_url, *res);
  auto o = json_object(res->body);
  if (!o) co_return not_acme("directory", opts_.directory_url, "the answer is not a JSON object");
  new_nonce_ = str(*o, "newNonce");
  new_account_ = str(*o, "newAccount");
  new_order_ = str(*o, "newOrder");
  if (auto const* meta = o->if_contains("meta"); meta && meta->is_object())
    terms_ = str(meta->as_object(), "termsOfService");
  if (new_nonce_.empty() || new_account_.empty() || new_order_.empty())
    co_return not_acme("directory", opts_.directory_url,
                       "newNonce, newAccount or newOrder is missing; is this an ACME directory URL?");
  have_directory_ = true;
  log_.info("acme: directory {} loaded", opts_.directory_url);
  co_return Result<void>{};
}

net::awaitable<Result<std::string>> AcmeClient::fresh_nonce() {
  if (!nonce_.empty()) co_return std::exchange(nonce_, {});
  http::ClientRequest req{.method = "HEAD", .url = new_nonce_};
  auto res = co_await http_.send(std::move(req));
  if (!res) co_return make_error(res.error().code, "acme newNonce: " + res.error().message);
  auto nonce = res->header("Replay-Nonce");
  if (nonce.empty()) co_return not_acme("newNonce", new_nonce_, "no Replay-Nonce header");
  co_return nonce;
}

net::awaitable<Result<AcmeClient::Posted>> AcmeClient::post(std::string_view step,
                                                           AccountKey const& key, std::string kid,
                                                           std::string url,
                                                           std::optional<std::string> payload,
                                                           std::string accept) {
  if (auto d = co_await load_directory(); !d) co_return d.error();
  for (int attempt = 0;; ++attempt) {
    auto nonce = co_await fresh_nonce();
    if (!nonce) co_return nonce.error();
    auto body = sign_request(key, {url, *nonce, kid, payload});
    if (!body) co_return body.error();
    http::ClientRequest req{.method = "POST", .url = url};
    req.headers = {{"Content-Type", "application/jose+json"}};
    if (!accept.empty()) req.headers.emplace_back("Accept", accept);
    req.body = std::move(*body);
    auto res = co_await http_.send(std::move(req));
    if (!res) co_return make_error(res.error().code, fmt::format("acme {}: {}", step, res.error().message));
    if (auto n = res->header("Replay-Nonce"); !n.empty()) nonce_ = n;
    if (res->status >= 200 && res->status < 300) co_return Posted{*res, json_object(res->body)};
    auto problem = parse_problem(*res);
    if (problem && problem->type == kBadNonce && attempt < opts_.bad_nonce_retries) {
      log_.info("acme {}: the server refused the nonce (badNonce); retrying with a fresh one", step);
      continue;
    }
    co_return problem_error(step, url, *res);
  }
}

std::chrono::milliseconds AcmeClient::retry_after(http::ClientResponse const& res) const {
  // RFC 8555 §8.2 / RFC 9110 §10.2.3: delay-seconds (an HTTP date is rare; treated as absent).
  auto const v = res.header("Retry-After");
  long secs = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || secs < 0)
    return opts_.poll_interval;
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(secs), opts_.max_retry_after);
}

net::awaitable<Result<std::string>> AcmeClient::register_account(AccountKey const& key,
                                                                 std::string contact_email) {
  json::object payload{{"termsOfServiceAgreed", true}};
  if (!contact_email.empty()) payload["contact"] = json::array{"mailto:" + contact_email};
  if (auto d = co_await load_directory(); !d) co_return d.error();
  auto r = co_await post("newAccount", key, "", new_account_, json::serialize(payload));
  if (!r) co_return r.error();
  auto kid = r->res.header("Location");
  if (kid.empty()) co_return not_acme("newAccount", new_account_, "no Location header (account URL)");
  log_.info("acme: account {} ({})", kid, r->res.status == 201 ? "created" : "already registered");
  co_return kid;
}

net::awaitable<Result<Order>> AcmeClient::new_order(AccountKey const& key, std::string kid,
                                                    std::vector<std::string> domains) {
  json::array ids;
  for (auto const& d : domains) {
    json::object id;
    id["type"] = "dns";
    id["value"] = d;
    ids.push_back(std::move(id));
  }
  if (auto d = co_await load_directory(); !d) co_return d.error();
  json::object payload;
  payload["identifiers"] = std::move(ids);
  auto r = co_await post("newOrder", key, kid, new_order_, json::serialize(payload));
  if (!r) co_return r.error();
  auto url = r->res.header("Location");
  if (url.empty() || !r->json) co_return not_acme("newOrder", new_order_, "no order object or Location");
  auto order = order_from(url, *r->json);
  if (order.finalize.empty() || order.authorizations.empty())
    co_return not_acme("newOrder", new_order_, "the order lacks finalize or authorizations");
  co_return order;
}

net::awaitable<Result<Authorization>> AcmeClient::get_authorization(AccountKey const& key,
                                                                    std::string kid, std::string url) {
  auto r = co_await post("authorization", key, kid, url, std::nullopt);
  if (!r) co_return r.error();
  if (!r->json) co_return not_acme("authorization", url, "the answer is not a JSON object");
  co_return authorization_from(url, *r->json);
}

net::awaitable<Result<void>> AcmeClient::respond(AccountKey const& key, std::string kid,
                                                 std::string challenge_url) {
  auto r = co_await post("challenge", key, kid, challenge_url, std::string("{}"));
  if (!r) co_return r.error();
  co_return Result<void>{};
}

net::awaitable<Result<Authorization>> AcmeClient::wait_authorization(AccountKey const& key,
                                                                     std::string kid, std::string url) {
  auto const deadline = clock_.now() + opts_.order_timeout;
  for (;;) {
    auto r = co_await post("authorization", key, kid, url, std::nullopt);
    if (!r) co_return r.error();
    if (!r->json) co_return not_acme("authorization", url, "the answer is not a JSON object");
    auto a = authorization_from(url, *r->json);
    if (a.status != "pending") co_return a;
    if (clock_.now() >= deadline)
      co_return make_error(Errc::unavailable,
                           fmt::format("acme authorization ({}): still pending after {} s "
                                       "(tls.acme.order_timeout_seconds)",
                                       url, opts_.order_timeout.count()));
    co_await sleep_(retry_after(r->res));
  }
}

net::awaitable<Result<Order>> AcmeClient::finalize(AccountKey const& key, std::string kid,
                                                   Order order, std::string csr_der) {
  auto payload = json::serialize(json::object{{"csr", crypto::base64url_encode(csr_der)}});
  auto r = co_await post("finalize", key, kid, order.finalize, std::move(payload));
  if (!r) co_return r.error();
  auto const deadline = clock_.now() + opts_.order_timeout;
  auto wait = retry_after(r->res);
  if (r->json) order = order_from(order.url, *r->json);
  while (order.status == "processing" || order.status == "ready" || order.status == "pending") {
    if (clock_.now() >= deadline)
      co_return make_error(Errc::unavailable,
                           fmt::format("acme finalize ({}): the order is still {} after {} s "
                                       "(tls.acme.order_timeout_seconds)",
                                       order.url, order.status, opts_.order_timeout.count()));
    co_await sleep_(wait);
    auto o = co_await post("order", key, kid, order.url, std::nullopt);
    if (!o) co_return o.error();
    if (!o->json) co_return not_acme("order", order.url, "the answer is not a JSON object");
    order = order_from(order.url, *o->json);
    wait = retry_after(o->res);
  }
  if (order.status != "valid")
    co_return make_error(Errc::bad_request,
                         fmt::format("acme finalize ({}): the order is {}{}", order.url, order.status,
                                     order.error.empty() ? "" : ": " + order.error));
  if (order.certificate.empty()) co_return not_acme("finalize", order.url, "a valid order without a certificate URL");
  co_return order;
}

net::awaitable<Result<std::string>> AcmeClient::download_certificate(AccountKey const& key,
                                                                     std::string kid, std::string url) {
  auto r = co_await post("certificate", key, kid, url, std::nullopt, "application/pem-certificate-chain");
  if (!r) co_return r.error();
  if (r->res.body.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    co_return not_acme("certificate", url, "the answer is not a PEM certificate chain");
  co_return r->res.body;
}

}  // namespace nbhub::acme
