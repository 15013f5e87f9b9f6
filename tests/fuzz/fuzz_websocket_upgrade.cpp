// The WebSocket upgrade through the proxy: a client's upgrade request (from anyone who can reach
// the port) and the user server's answer (from whoever controls that server) meet in the relay.
// Input: the split byte, then the client's request, a 0xFF 0xFE separator, then the upstream's
// bytes. The listener's parser reads the request with its limits; when Beast calls it an
// upgrade, the proxy writes the upstream head for a WebSocket (Upgrade and "Connection:
// upgrade" kept, no other hop-by-hop field), then parses the answer keeping Upgrade only on a
// 101. Checked: nothing crashes; a 101's head consumes no byte past its blank line (those are
// WebSocket frames for the tunnel); Upgrade never leaks into a non-101 head; the relayed 101
// says "Connection: Upgrade".
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "proxy/forwarded_headers.hpp"
#include "proxy/route_table.hpp"
#include "proxy/upstream_response_parser.hpp"

namespace bhttp = boost::beast::http;
using namespace nbhub;

namespace {

proxy::RouteTable& table() {
  static SystemClock clock;
  static proxy::RouteTable t(clock);
  static bool const filled = [] {
    for (auto const* prefix : {"/", "/user/alice", "/user/bob/lab"})
      (void)t.add(prefix, "http://127.0.0.1:8888/base", {});
    return true;
  }();
  (void)filled;
  return t;
}

bool has_field(std::string_view head, std::string_view name) {
  // Field names at line starts, case-insensitively.
  std::size_t at = 0;
  while ((at = head.find("\r\n", at)) != std::string_view::npos) {
    at += 2;
    if (head.size() - at > name.size() && head[at + name.size()] == ':') {
      bool same = true;
      for (std::size_t i = 0; i < name.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(head[at + i])) != name[i]) same = false;
      if (same) return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t const piece = 1 + data[0] % 64;
  std::string_view all(reinterpret_cast<char const*>(data) + 1, size - 1);
  auto sep = all.find("\xFF\xFE");
  std::string_view client = all.substr(0, sep);
  std::string_view upstream = sep == std::string_view::npos ? std::string_view() : all.substr(sep + 2);

  bhttp::request_parser<bhttp::empty_body> p;
  p.header_limit(8 * 1024);
  boost::system::error_code ec;
  std::string pending;
  for (std::size_t at = 0; at < client.size() && !ec && !p.is_header_done();) {
    pending.append(client.substr(at, piece));
    at += piece;
    auto used = p.put(boost::asio::buffer(pending), ec);
    pending.erase(0, used);
    if (ec == bhttp::error::need_more) ec = {};
  }
  if (!p.is_header_done()) return 0;
  auto& req = p.get();
  bool const websocket = boost::beast::websocket::is_upgrade(req);

  std::string scratch;
  auto snap = table().snapshot();
  auto const* route = snap->find(proxy::decoded_path(req.target(), scratch));
  if (!route) return 0;
  bhttp::request_header<> head = req.base();
  proxy::ProxyConfig cfg;
  http::ClientView view{.remote_ip = "127.0.0.1", .host = "hub.example.org"};
  char buf[4096];
  proxy::HeadBuffer out(buf, sizeof buf);
  proxy::write_upstream_request(head, *route, cfg, view, "127.0.0.1", websocket, out);
  for (auto f : {bhttp::field::proxy_connection, bhttp::field::keep_alive, bhttp::field::te})
    if (head.find(f) != head.end()) std::abort();
  if (websocket && !has_field(out.view(), "upgrade")) std::abort();

  // The answer, read as the relay reads it: heads until one that is not an interim 1xx.
  std::vector<char> hs(1024);
  std::string_view rest = upstream;
  for (int heads = 0; heads < 4 && !rest.empty(); ++heads) {
    proxy::HeadBuffer rhead(hs.data(), hs.size());
    proxy::UpstreamResponseParser rp(rhead, req.version() == 10 ? 10 : 11, websocket);
    rp.header_limit(4096);
    std::string got;
    std::size_t consumed = 0;
    for (std::size_t at = 0; at < rest.size() && !rp.is_header_done();) {
      got.append(rest.substr(at, piece));
      at += piece;
      boost::system::error_code pec;
      auto used = rp.put(boost::asio::buffer(got.data() + consumed, got.size() - consumed), pec);
      consumed += used;
      if (pec && pec != bhttp::error::need_more) return 0;
    }
    if (!rp.is_header_done()) return 0;
    auto const status = rp.status();
    auto const text = rhead.view();
    if (status == 101) {
      // The head ends at its blank line: not one byte of the frames after it was eaten.
      std::string_view eaten = rest.substr(0, consumed);
      if (!(eaten.ends_with("\r\n\r\n") || eaten.ends_with("\n\n") || eaten.ends_with("\n\r\n"))) std::abort();
      if (websocket && !has_field(text, "connection")) std::abort();
      if (!websocket && has_field(text, "upgrade")) std::abort();
      return 0;
    }
    if (has_field(text, "upgrade")) std::abort();
    if (status >= 200) return 0;
    rest.remove_prefix(consumed);
  }
  return 0;
}
