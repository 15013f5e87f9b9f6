// Large bodies through the proxy: memory stays bounded by the configured buffers and a slow
// client stalls the upstream (backpressure) rather than being buffered for.
#include <gtest/gtest.h>

#include "proxy_fixture.hpp"

namespace nbhub::proxy::test {
namespace {

using namespace std::chrono_literals;

class ProxyStream : public ProxyModes {};
INSTANTIATE_TEST_SUITE_P(Threads, ProxyStream, ::testing::Values(1, 2), mode_name);

constexpr std::uint64_t k64MiB = 64ull * 1024 * 1024;

// Reads a response head byte-wise-enough: returns the bytes after "\r\n\r\n" already read.
std::string read_head(tcp::socket& s, std::string& head) {
  std::string data;
  char buf[4096];
  for (;;) {
    auto n = s.read_some(net::buffer(buf));
    data.append(buf, n);
    auto end = data.find("\r\n\r\n");
    if (end != std::string::npos) {
      head = data.substr(0, end);
      return data.substr(end + 4);
    }
  }
}

TEST_P(ProxyStream, SlowClientStallsUpstreamAndBuffersStayBounded) {
  auto cfg = test_config();
  ProxyHarness h(cfg, nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  auto s = h.connect();
  s.set_option(net::socket_base::receive_buffer_size(64 * 1024));
  std::string req =
      "GET /user/alice/files/big?n=" + std::to_string(k64MiB) + " HTTP/1.1\r\nHost: hub.example\r\n\r\n";
  net::write(s, net::buffer(req));
  std::string head;
  auto first = read_head(s, head);
  ASSERT_NE(head.find("200"), std::string::npos) << head;
  ASSERT_NE(head.find("Content-Length: " + std::to_string(k64MiB)), std::string::npos) << head;

  std::uint64_t got = 0;
  bool same = true;
  auto check = [&](char const* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) same &= p[i] == pattern(got + i);
    got += n;
  };
  check(first.data(), first.size());
  std::vector<char> buf(64 * 1024);
  // A slow reader: a little, then nothing for a while.
  for (int i = 0; i < 5; ++i) {
    check(buf.data(), s.read_some(net::buffer(buf)));
    std::this_thread::sleep_for(20ms);
  }
  std::this_thread::sleep_for(200ms);  // the socket buffers fill; the proxy must stop reading
  auto sent1 = h.backend().big_bytes_sent();
  std::this_thread::sleep_for(200ms);
  auto sent2 = h.backend().big_bytes_sent();
  EXPECT_EQ(sent1, sent2) << "the upstream kept sending while the client was not reading";
  EXPECT_LT(sent2, k64MiB / 2) << "the proxy read far ahead of its client";
  auto bound = cfg.buffer_bytes + std::max(cfg.buffer_bytes, cfg.header_limit_bytes);
  EXPECT_LE(h.proxy().stats().peak_buffered_bytes.load(), bound);

  // Now read the rest quickly: everything arrives, intact.
  while (got < k64MiB) check(buf.data(), s.read_some(net::buffer(buf)));
  EXPECT_EQ(got, k64MiB);
  EXPECT_TRUE(same);
  EXPECT_LE(h.proxy().stats().peak_buffered_bytes.load(), bound);
}

TEST_P(ProxyStream, StalledClientIsCutOffAfterStallTimeout) {
  auto cfg = test_config();
  cfg.stall_timeout = std::chrono::milliseconds(300);
  ProxyHarness h(cfg, nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  auto s = h.connect();
  s.set_option(net::socket_base::receive_buffer_size(64 * 1024));
  std::string req =
      "GET /user/alice/files/big?n=" + std::to_string(k64MiB) + " HTTP/1.1\r\nHost: hub.example\r\n\r\n";
  net::write(s, net::buffer(req));
  // Never read: once the socket buffers are full the proxy's write stalls; after
  // stall_timeout it gives up on both connections and the backend's write fails.
  for (int i = 0; i < 300 && h.backend().big_downloads_ended() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(h.backend().big_downloads_ended(), 1);
  EXPECT_LT(h.backend().big_bytes_sent(), k64MiB);
}

TEST_P(ProxyStream, LargeUploadIsStreamed) {
  auto cfg = test_config();
  ProxyHarness h(cfg, nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  auto s = h.connect();
  std::string req =
      "PUT /user/alice/api/contents/big.bin HTTP/1.1\r\nHost: hub.example\r\n"
      "Content-Length: " +
      std::to_string(k64MiB) + "\r\n\r\n";
  net::write(s, net::buffer(req));
  std::vector<char> block(1024 * 1024);
  for (std::size_t i = 0; i < block.size(); ++i) block[i] = pattern(i);
  std::uint64_t hash = kFnvSeed;
  for (std::uint64_t off = 0; off < k64MiB; off += block.size()) {
    hash = fnv1a(hash, block.data(), block.size());
    net::write(s, net::buffer(block));
  }
  beast::flat_buffer b;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(s, b, res);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(),
            "PUT /user/alice/api/contents/big.bin " + std::to_string(k64MiB) + " " + std::to_string(hash));
  auto bound = cfg.buffer_bytes + std::max(cfg.buffer_bytes, cfg.header_limit_bytes);
  EXPECT_LE(h.proxy().stats().peak_buffered_bytes.load(), bound);
}

// Content-Length bodies bypass Beast's parser (relay.cpp): pipelined requests whose bodies
// arrive with their heads, partly buffered, must each get exactly their own bytes, and the
// connection must stay usable for the next request.
TEST_P(ProxyStream, PipelinedSizedBodiesKeepTheirBoundaries) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  auto s = h.connect();
  std::string const big(300'000, 'b');  // more than one buffer: buffered, then read directly
  std::string req = "POST /user/alice/api/one HTTP/1.1\r\nHost: hub.example\r\nContent-Length: 5\r\n\r\nfirst"
                    "POST /user/alice/api/two HTTP/1.1\r\nHost: hub.example\r\nContent-Length: " +
                    std::to_string(big.size()) + "\r\n\r\n" + big +
                    "GET /user/alice/api/three HTTP/1.1\r\nHost: hub.example\r\n\r\n";
  net::write(s, net::buffer(req));
  auto expect = [](std::string method, std::string path, std::string const& body) {
    return method + " " + path + " " + std::to_string(body.size()) + " " +
           std::to_string(fnv1a(kFnvSeed, body.data(), body.size()));
  };
  // The backend answers each request with its method, path, body length and body hash.
  std::vector<std::string> const want = {expect("POST", "/user/alice/api/one", "first"),
                                         expect("POST", "/user/alice/api/two", big),
                                         expect("GET", "/user/alice/api/three", "")};
  beast::flat_buffer b;
  for (auto const& w : want) {
    bhttp::response<bhttp::string_body> res;
    bhttp::read(s, b, res);
    ASSERT_EQ(res.result_int(), 200) << w;
    EXPECT_TRUE(res.keep_alive()) << w;
    EXPECT_EQ(res.body(), w);
  }
}

// A client that closes in the middle of a Content-Length body: the upstream request is cut,
// the proxy survives and answers the next connection.
TEST_P(ProxyStream, ClientGoneInsideASizedBody) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  {
    auto s = h.connect();
    std::string req = "PUT /user/alice/api/cut HTTP/1.1\r\nHost: hub.example\r\nContent-Length: 1000000\r\n\r\n" +
                      std::string(200'000, 'c');
    net::write(s, net::buffer(req));
  }
  EXPECT_EQ(h.get("/user/alice/hello").result_int(), 200);
}

TEST_P(ProxyStream, ChunkedUploadIsReframed) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  auto s = h.connect();
  std::string req =
      "POST /user/alice/api/upload HTTP/1.1\r\nHost: hub.example\r\n"
      "Transfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
  net::write(s, net::buffer(req));
  beast::flat_buffer b;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(s, b, res);
  EXPECT_EQ(res.result_int(), 200);
  auto seen = h.backend().last();
  EXPECT_EQ(seen.body_bytes, 7u);
  EXPECT_EQ(seen.body_prefix, "abcdefg");
}

}  // namespace
}  // namespace nbhub::proxy::test
