// The proxy's response parser on its own: heads rewritten for the client, body framings, and
// the malformed responses it must refuse. Every well-formed case is also fed one byte at a
// time and in two pieces split at every offset, and must come out the same.
#include <gtest/gtest.h>

#include <boost/beast/http/error.hpp>

#include <string>
#include <vector>

#include "proxy/upstream_response_parser.hpp"

namespace nbhub::proxy {
namespace {

namespace bhttp = boost::beast::http;

struct Parsed {
  std::string head;  // as written for the client
  std::string body;  // without chunk framing
  boost::system::error_code ec;
  bool done = false;
  unsigned status = 0;
  bool keep_alive = false, chunked = false, other_codings = false;
  std::string rest;  // bytes after the message, not consumed
};

struct Options {
  unsigned client_version = 11;
  bool websocket = false;
  bool head_request = false;
  bool eof = false;           // the upstream closes after the bytes
  std::size_t out_size = 7;   // a small output buffer: bodies cross many need_buffer rounds
  std::size_t header_limit = 8192;
};

// Feeds `pieces` the way the relay does: bytes accumulate in a buffer, the parser consumes
// what it can, the body goes through an output buffer of `out_size` bytes.
Parsed parse(std::vector<std::string> const& pieces, Options o = {}) {
  std::vector<char> scratch(4096);
  HeadBuffer head(scratch.data(), scratch.size());
  UpstreamResponseParser p(head, o.client_version, o.websocket);
  p.header_limit(o.header_limit);
  p.skip(o.head_request);
  Parsed r;
  std::string pending;
  std::vector<char> out(o.out_size);
  auto drain = [&]() -> bool {  // false on an error
    for (;;) {
      if (p.is_header_done()) p.output(out.data(), out.size());
      boost::system::error_code ec;
      auto used = p.put(boost::asio::buffer(pending), ec);
      pending.erase(0, used);
      if (p.is_header_done()) r.body.append(out.data(), p.used());
      if (ec == bhttp::error::need_buffer || (!ec && !p.is_done() && !pending.empty())) continue;
      if (ec && ec != bhttp::error::need_more) {
        r.ec = ec;
        return false;
      }
      return true;
    }
  };
  for (auto const& piece : pieces) {
    pending += piece;
    if (!drain()) return r;
  }
  if (o.eof) {
    boost::system::error_code ec;
    p.put_eof(ec);
    r.ec = ec;
  }
  r.done = p.is_done();
  r.head = std::string(head.view());
  r.status = p.status();
  r.keep_alive = p.keep_alive();
  r.chunked = p.chunked();
  r.other_codings = p.other_codings();
  r.rest = pending;
  return r;
}

// The same result whether the bytes come at once, byte by byte, or split anywhere in two.
Parsed parse_all_ways(std::string const& bytes, Options o = {}) {
  auto whole = parse({bytes}, o);
  std::vector<std::string> bytewise;
  for (char c : bytes) bytewise.emplace_back(1, c);
  auto one_by_one = parse(bytewise, o);
  EXPECT_EQ(one_by_one.head, whole.head);
  EXPECT_EQ(one_by_one.body, whole.body);
  EXPECT_EQ(one_by_one.ec, whole.ec);
  EXPECT_EQ(one_by_one.done, whole.done);
  for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
    auto two = parse({bytes.substr(0, cut), bytes.substr(cut)}, o);
    EXPECT_EQ(two.body, whole.body) << "split at " << cut;
    EXPECT_EQ(two.ec, whole.ec) << "split at " << cut;
  }
  return whole;
}

TEST(UpstreamResponseParser, ContentLengthBodyAndHopByHopFieldsDropped) {
  auto r = parse_all_ways(
      "HTTP/1.1 200 OK\r\nServer: x\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: timeout=5\r\n"
      "X-Secret: 1\r\nTE: trailers\r\nProxy-Connection: close\r\nContent-Length: 11\r\n\r\nhello worldNEXT");
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.head, "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 11\r\n");
  EXPECT_EQ(r.body, "hello world");
  EXPECT_EQ(r.rest, "NEXT");  // a pipelined extra is left for the caller (it will not park)
  EXPECT_TRUE(r.keep_alive);
}

TEST(UpstreamResponseParser, ChunkedBodyIsDecodedWithExtensionsAndTrailers) {
  auto r = parse_all_ways(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n6 \r\n world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n");
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_TRUE(r.done);
  EXPECT_TRUE(r.chunked);
  EXPECT_FALSE(r.other_codings);
  EXPECT_EQ(r.head, "HTTP/1.1 200 OK\r\n");  // the relay adds its own framing
  EXPECT_EQ(r.body, "hello world0123456789");
}

TEST(UpstreamResponseParser, OtherCodingsKeepTheirLine) {
  auto r = parse_all_ways("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_TRUE(r.chunked);
  EXPECT_TRUE(r.other_codings);
  EXPECT_EQ(r.head, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n");
  EXPECT_EQ(r.body, "abc");
}

TEST(UpstreamResponseParser, BodyUntilCloseEndsAtEof) {
  auto r = parse_all_ways("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it", {.eof = true});
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_TRUE(r.done);
  EXPECT_FALSE(r.keep_alive);  // HTTP/1.0 without keep-alive
  EXPECT_EQ(r.body, "all of it");
  auto cut = parse({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"}, {.eof = true});
  EXPECT_EQ(cut.ec, bhttp::error::partial_message);
}

TEST(UpstreamResponseParser, StatusLineFollowsTheClientVersion) {
  auto r = parse_all_ways("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", {.client_version = 10});
  EXPECT_EQ(r.head, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n");
  EXPECT_TRUE(r.done);
  auto no_reason = parse_all_ways("HTTP/1.1 204\r\n\r\n");
  EXPECT_EQ(no_reason.head, "HTTP/1.1 204 No Content\r\n");
  EXPECT_TRUE(no_reason.done);
}

TEST(UpstreamResponseParser, NoBodyForHeadRequestsAnd304) {
  auto head = parse_all_ways("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", {.head_request = true});
  EXPECT_TRUE(head.done);
  EXPECT_EQ(head.body, "");
  auto not_modified = parse_all_ways("HTTP/1.1 304 Not Modified\r\nContent-Length: 500\r\n\r\n");
  EXPECT_TRUE(not_modified.done);
}

TEST(UpstreamResponseParser, UpgradeIsKeptOnlyForARelayedHandshake) {
  std::string resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
  auto ws = parse_all_ways(resp, {.websocket = true});
  EXPECT_EQ(ws.status, 101u);
  EXPECT_EQ(ws.head, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
  auto plain = parse_all_ways("HTTP/1.1 200 OK\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(plain.head, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
}

TEST(UpstreamResponseParser, ConnectionCloseEndsKeepAlive) {
  auto r = parse_all_ways("HTTP/1.1 200 OK\r\nconnection: CLOSE\r\ncontent-length: 2\r\n\r\nok");
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(r.head, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n");
}

TEST(UpstreamResponseParser, MalformedResponsesAreRefused) {
  struct Case {
    char const* bytes;
    bhttp::error expected;
  };
  Case const cases[] = {
      {"HTTP/2 200 OK\r\n\r\n", bhttp::error::bad_version},
      {"ICY 200 OK\r\n\r\n", bhttp::error::bad_version},
      {"HTTP/1.1 2000 OK\r\n\r\n", bhttp::error::bad_status},
      {"HTTP/1.1 099 Low\r\n\r\n", bhttp::error::bad_status},
      {"HTTP/1.1 200 O\x01K\r\n\r\n", bhttp::error::bad_reason},
      {"HTTP/1.1 200 OK\r\nNo Colon\r\n\r\n", bhttp::error::bad_field},
      {"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", bhttp::error::bad_field},
      {"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n", bhttp::error::bad_value},
      {"HTTP/1.1 200 OK\r\nX-A: a\x7f\r\n\r\n", bhttp::error::bad_value},
      {"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", bhttp::error::bad_content_length},
      {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", bhttp::error::bad_content_length},
      {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
       bhttp::error::bad_transfer_encoding},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", bhttp::error::bad_chunk},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", bhttp::error::bad_chunk},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\n", bhttp::error::bad_chunk},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;\x01\r\n", bhttp::error::bad_chunk_extension},
  };
  for (auto const& c : cases) {
    auto r = parse({c.bytes});
    EXPECT_EQ(r.ec, c.expected) << c.bytes;
  }
}

TEST(UpstreamResponseParser, HeadLimitIsEnforcedBeforeTheBlankLineArrives) {
  std::string big = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(2000, 'x');
  EXPECT_EQ(parse({big}, {.header_limit = 1024}).ec, bhttp::error::header_limit);
  EXPECT_EQ(parse({big + "\r\n\r\n"}, {.header_limit = 1024}).ec, bhttp::error::header_limit);
  EXPECT_FALSE(parse({big + "\r\n\r\n"}, {.header_limit = 4096}).ec);
}

TEST(UpstreamResponseParser, InterimResponseIsAWholeMessage) {
  auto r = parse({"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"});
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.status, 100u);
  EXPECT_EQ(r.rest, "HTTP/1.1 200 OK\r\n");  // the relay parses it with a new parser
}

}  // namespace
}  // namespace nbhub::proxy
