// Request heads and bodies come from anyone who can reach the port. Beast parses them with the
// listener's limits (fed in pieces, as reads arrive, chunked bodies included); then what nbhub
// itself does with a parsed head: the decoded path and its route, the upstream head the proxy
// writes, the API-or-page decision, the request id and cookie lookups. Nothing may crash, and
// the upstream head never carries a hop-by-hop field.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/clock.hpp"
#include "http/cookies.hpp"
#include "http/request_id.hpp"
#include "proxy/forwarded_headers.hpp"
#include "proxy/route_table.hpp"

namespace bhttp = boost::beast::http;
using namespace nbhub;

namespace {

proxy::RouteTable& table() {
  static SystemClock clock;
  static proxy::RouteTable t(clock);
  static bool const filled = [] {
    for (auto const* prefix : {"/", "/user/alice", "/user/bob/lab", "/services/x", "/user/j%C3%BCrgen"})
      (void)t.add(prefix, "http://127.0.0.1:8888/base", {});
    return true;
  }();
  (void)filled;
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size < 1) return 0;
  std::size_t const piece = 1 + data[0] % 64;  // how the bytes arrive
  std::string_view in(reinterpret_cast<char const*>(data) + 1, size - 1);

  bhttp::request_parser<bhttp::string_body> p;
  p.header_limit(8 * 1024);  // http.header_limit_bytes, small to reach the limit
  p.body_limit(16 * 1024);
  p.eager(true);
  boost::system::error_code ec;
  std::string pending;
  for (std::size_t at = 0; at < in.size() && !ec && !p.is_done();) {
    pending.append(in.substr(at, piece));
    at += piece;
    auto used = p.put(boost::asio::buffer(pending), ec);
    pending.erase(0, used);
    if (ec == bhttp::error::need_more) ec = {};
  }
  if (!ec && !p.is_done()) p.put_eof(ec);
  if (!p.is_header_done()) return 0;

  auto& req = p.get();
  std::string scratch;
  auto path = proxy::decoded_path(req.target(), scratch);
  auto snap = table().snapshot();
  auto const* route = snap->find(path);
  (void)proxy::wants_json(req);
  if (auto id = req.find("X-Request-Id"); id != req.end()) (void)http::acceptable_request_id(id->value());
  if (auto c = req.find(bhttp::field::cookie); c != req.end()) {
    auto v = http::find_cookie(c->value(), "nbhub-hub-login");
    if (v && v->find(';') != std::string::npos) std::abort();
  }
  if (route) {
    bhttp::request_header<> head = req.base();
    proxy::ProxyConfig cfg;
    http::ClientView client{.remote_ip = "127.0.0.1", .host = "hub.example.org"};
    char buf[4096];
    proxy::HeadBuffer out(buf, sizeof buf);
    bool const ws = head[bhttp::field::upgrade] == "websocket";
    proxy::write_upstream_request(head, *route, cfg, client, "127.0.0.1", ws, out);
    for (auto f : {bhttp::field::proxy_connection, bhttp::field::keep_alive, bhttp::field::te})
      if (head.find(f) != head.end()) std::abort();
  }
  return 0;
}
