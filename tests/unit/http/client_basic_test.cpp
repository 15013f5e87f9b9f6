// BeastHttpClient against a loopback server: requests, responses, limits, timeouts and errors;
// plus the Beast-free helpers (form_encode, basic_auth_header, header lookup).
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "http/client_impl.hpp"
#include "unit/http/test_server.hpp"

namespace nbhub::http {
namespace {

using namespace std::chrono_literals;
using test::http_response;
using test::Reply;
using test::SeenRequest;
using test::TestServer;

class ClientBasic : public ::testing::Test {
 protected:
  ClientBasic() : log_("client", std::make_shared<spdlog::sinks::ostream_sink_mt>(logged_)) {
    log_.set_level(spdlog::level::debug);
  }
  Result<ClientResponse> send(ClientRequest req) {
    BeastHttpClient client(ioc_, cfg_, log_);
    return test::run_sync(ioc_, client.send(std::move(req)));
  }
  boost::asio::io_context ioc_;
  config::HttpClientConfig cfg_;
  std::ostringstream logged_;
  spdlog::logger log_;
};

Reply echo(SeenRequest const& r) {
  return {http_response(r.method + " " + r.target + " " + r.body, 200,
                        "X-Seen-Method: " + r.method + "\r\n")};
}

TEST_F(ClientBasic, GetReturnsStatusHeadersAndBody) {
  TestServer server(echo);
  auto r = send({.url = server.url("/a/b?x=1")});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "GET /a/b?x=1 ");
  EXPECT_EQ(r->header("x-seen-method"), "GET");
  EXPECT_EQ(r->header("X-SEEN-METHOD"), "GET");
  EXPECT_EQ(r->header("absent"), "");
  auto seen = server.requests().at(0);
  EXPECT_EQ(seen.header("Host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen.header("User-Agent"), "nbhub/" NBHUB_VERSION);
  EXPECT_FALSE(seen.has_header("Accept-Encoding"));
  EXPECT_FALSE(seen.has_header("Content-Length"));
}

TEST_F(ClientBasic, PostSendsBodyWithContentLengthAndCallerHeaders) {
  TestServer server(echo);
  auto r = send({.method = "POST",
                 .url = server.url("/token"),
                 .headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                             {"Accept-Encoding", "gzip"},
                             {"Content-Length", "999"}},
                 .body = "a=1&b=2"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "POST /token a=1&b=2");
  auto seen = server.requests().at(0);
  EXPECT_EQ(seen.header("content-length"), "7");
  EXPECT_EQ(seen.header("content-type"), "application/x-www-form-urlencoded");
  EXPECT_FALSE(seen.has_header("Accept-Encoding"));  // we never decode bodies
}

TEST_F(ClientBasic, ErrorStatusIsAResponseNotAnError) {
  TestServer server([](SeenRequest const&) {
    return Reply{http_response("{\"error\":\"invalid_grant\"}", 400)};
  });
  auto r = send({.url = server.url("/token")});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
}

TEST_F(ClientBasic, ReadsChunkedResponse) {
  TestServer server([](SeenRequest const&) {
    return Reply{
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n"};
  });
  auto r = send({.url = server.url("/")});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "hello, world");
}

TEST_F(ClientBasic, ReadsBodyDelimitedByClose) {
  TestServer server([](SeenRequest const&) {
    return Reply{"HTTP/1.1 200 OK\r\n\r\nuntil eof", 0ms, true};
  });
  auto r = send({.url = server.url("/")});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "until eof");
}

TEST_F(ClientBasic, SkipsInterimResponses) {
  TestServer server([](SeenRequest const&) {
    return Reply{"HTTP/1.1 100 Continue\r\n\r\n" + http_response("done")};
  });
  auto r = send({.url = server.url("/")});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "done");
}

TEST_F(ClientBasic, HeadResponseHasNoBody) {
  TestServer server(
      [](SeenRequest const&) { return Reply{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"}; });
  auto r = send({.method = "HEAD", .url = server.url("/")});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->header("content-length"), "5");
  EXPECT_EQ(r->body, "");
}

TEST_F(ClientBasic, ResponseLargerThanLimitIsBadGateway) {
  cfg_.max_response_bytes = 1000;
  TestServer server([](SeenRequest const& r) {
    if (r.target == "/chunked")
      return Reply{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" +
                   std::string(1024, 'x') + "\r\n0\r\n\r\n"};
    return Reply{http_response(std::string(r.target == "/exact" ? 1000 : 1001, 'x'))};
  });
  for (auto path : {"/length", "/chunked"}) {
    auto r = send({.url = server.url(path)});
    ASSERT_FALSE(r) << path;
    EXPECT_EQ(r.error().code, Errc::bad_gateway);
    EXPECT_EQ(r.error().message, "GET " + server.url(path) + ": response larger than 1000 bytes");
  }
  auto fits = send({.url = server.url("/exact")});
  ASSERT_TRUE(fits) << fits.error().message;
  EXPECT_EQ(fits->body.size(), 1000u);
}

TEST_F(ClientBasic, MalformedResponseIsBadGateway) {
  TestServer server([](SeenRequest const&) { return Reply{"NOT HTTP AT ALL\r\n\r\n"}; });
  auto r = send({.url = server.url("/")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::bad_gateway);
}

TEST_F(ClientBasic, SlowServerTimesOutWithoutLeakingTheQuery) {
  TestServer server([](SeenRequest const&) { return Reply{http_response("late"), 2s}; });
  auto start = std::chrono::steady_clock::now();
  auto r = send({.url = server.url("/token?code=SECRETCODE"),
                 .headers = {{"Authorization", "Bearer SECRETTOKEN"}},
                 .timeout = 200ms});
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_EQ(r.error().message, "GET " + server.url("/token") + ": timed out after 200 ms");
  EXPECT_LT(took, 1500ms);
  EXPECT_EQ(logged_.str().find("SECRET"), std::string::npos) << logged_.str();
}

TEST_F(ClientBasic, ConfiguredTimeoutIsReportedInSeconds) {
  cfg_.request_timeout = std::chrono::seconds(0);
  TestServer server([](SeenRequest const&) { return Reply{http_response("late"), 2s}; });
  auto r = send({.url = server.url("/")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("timed out after 0 s"), std::string::npos) << r.error().message;
}

TEST_F(ClientBasic, ConnectionRefusedIsUnavailable) {
  unsigned short port;
  {
    boost::asio::ip::tcp::acceptor a(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  auto url = "http://127.0.0.1:" + std::to_string(port) + "/x";
  auto r = send({.url = url + "?secret=1"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_EQ(r.error().message.rfind("GET " + url + ": cannot connect to 127.0.0.1:", 0), 0u)
      << r.error().message;
  EXPECT_EQ(r.error().message.find("secret"), std::string::npos);
}

TEST_F(ClientBasic, RejectsBadUrlsAndHeadersWithoutEchoingSecrets) {
  struct Case {
    ClientRequest req;
    std::string message;
  };
  std::vector<Case> cases = {
      {{.url = "not a url"}, ""},
      {{.url = "ftp://example.test/x?k=SECRET"},
       "GET ftp://example.test/x: unsupported scheme; use http or https"},
      {{.url = "https://user:SECRET@example.test/x"},
       "GET https://example.test/x: credentials in the URL are not supported"},
      {{.url = "http://127.0.0.1:1/", .headers = {{"X-A", "SECRET\r\nInjected: 1"}}},
       "GET http://127.0.0.1:1/: request header #1 is malformed"},
      {{.method = "GE T", .url = "http://127.0.0.1:1/"}, "invalid HTTP method"},
  };
  for (auto& c : cases) {
    auto r = send(c.req);
    ASSERT_FALSE(r) << c.req.url;
    EXPECT_EQ(r.error().code, Errc::bad_request) << c.req.url;
    if (!c.message.empty()) {
      EXPECT_EQ(r.error().message, c.message);
    }
    EXPECT_EQ(r.error().message.find("SECRET"), std::string::npos) << r.error().message;
  }
}

TEST_F(ClientBasic, Ipv6LiteralHost) {
  std::unique_ptr<TestServer> server;
  try {
    server = std::make_unique<TestServer>(echo, TestServer::Options{.ipv6 = true});
  } catch (std::exception const& e) {
    GTEST_SKIP() << "no IPv6 loopback: " << e.what();
  }
  auto r = send({.url = server->url("/v6")});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "GET /v6 ");
  EXPECT_EQ(server->requests().at(0).header("host"), "[::1]:" + std::to_string(server->port()));
}

TEST_F(ClientBasic, ResumesOnTheCallersExecutor) {
  TestServer server(echo);
  boost::asio::io_context client_ioc;
  auto guard = boost::asio::make_work_guard(client_ioc);
  std::thread client_thread([&] { client_ioc.run(); });
  {
    BeastHttpClient client(client_ioc, cfg_, log_);
    auto caller = std::this_thread::get_id();
    auto same_thread = test::run_sync(ioc_, [&]() -> boost::asio::awaitable<bool> {
      // Named, not a braced temporary: GCC 12 miscompiles aggregate temporaries inside a
      // co_await expression (see client_impl.hpp).
      ClientRequest req{.url = server.url("/")};
      auto r = co_await client.send(std::move(req));
      co_return r&& std::this_thread::get_id() == caller;
    }());
    EXPECT_TRUE(same_thread);
  }
  guard.reset();
  client_ioc.stop();
  client_thread.join();
}

TEST(FormEncode, EscapesReservedCharactersAndUtf8) {
  EXPECT_EQ(form_encode({{"grant_type", "authorization_code"}, {"code", "a+b&c=d e%f"}}),
            "grant_type=authorization_code&code=a%2Bb%26c%3Dd+e%25f");
  EXPECT_EQ(form_encode({{"name", "J\xC3\xBCrgen \xE2\x82\xAC"}}), "name=J%C3%BCrgen+%E2%82%AC");
  EXPECT_EQ(form_encode({{"keep", "AZaz09*-._"}, {"slash", "/?#~"}}),
            "keep=AZaz09*-._&slash=%2F%3F%23%7E");
  EXPECT_EQ(form_encode({}), "");
  EXPECT_EQ(form_encode({{"", ""}}), "=");
}

TEST(BasicAuthHeader, FormEncodesBothPartsPerRfc6749Section2_3_1) {
  EXPECT_EQ(basic_auth_header("client", "secret"), "Basic Y2xpZW50OnNlY3JldA==");
  // "my id:p@ss+w:rd" -> "my+id:p%40ss%2Bw%3Ard"
  EXPECT_EQ(basic_auth_header("my id", "p@ss+w:rd"), "Basic bXkraWQ6cCU0MHNzJTJCdyUzQXJk");
}

TEST(ClientResponseHeader, LookupIsCaseInsensitiveAndReturnsFirst) {
  ClientResponse r{200, {{"Content-Type", "a"}, {"content-type", "b"}}, ""};
  EXPECT_EQ(r.header("CONTENT-TYPE"), "a");
  EXPECT_EQ(r.header("content-typ"), "");
}

TEST(PrepareRequest, SplitsTheUrlAndFiltersHeaders) {
  auto p = detail::prepare_request({.method = "DELETE",
                                    .url = "HTTPS://IdP.Example/a%20b?code=S#frag",
                                    .headers = {{"transfer-encoding", "chunked"}, {"X-A", "1"}}},
                                   std::chrono::seconds(15));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(p->tls);
  EXPECT_EQ(p->host, "idp.example");
  EXPECT_EQ(p->port, "443");
  EXPECT_EQ(p->pool_key, "https://idp.example:443");
  EXPECT_EQ(p->shown, "HTTPS://IdP.Example/a%20b");
  EXPECT_EQ(p->host_header, "IdP.Example");
  EXPECT_EQ(p->target, "/a%20b?code=S");
  EXPECT_TRUE(p->idempotent);
  EXPECT_EQ(p->timeout, std::chrono::seconds(15));
  EXPECT_EQ(p->headers, (Headers{{"X-A", "1"}}));

  auto v6 = detail::prepare_request({.method = "POST", .url = "http://[::1]:8080", .timeout = 5ms},
                                    std::chrono::seconds(15));
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->host_header, "[::1]:8080");
  EXPECT_EQ(v6->target, "/");
  EXPECT_FALSE(v6->idempotent);
  EXPECT_EQ(v6->timeout, 5ms);
}

}  // namespace
}  // namespace nbhub::http
