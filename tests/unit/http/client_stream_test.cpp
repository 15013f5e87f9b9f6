// BeastHttpClient::stream: a 2xx body handed over as it arrives (Kubernetes watches), error
// bodies returned whole, a stalled body detected, and a stream cancelled from another thread.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <thread>

#include "http/client_impl.hpp"
#include "unit/http/test_server.hpp"

namespace nbhub::http {
namespace {

using namespace std::chrono_literals;
using test::http_response;
using test::Reply;
using test::SeenRequest;
using test::TestServer;

std::string chunked_head() { return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"; }
std::string chunk(std::string const& s) {
  std::ostringstream o;
  o << std::hex << s.size() << "\r\n" << s << "\r\n";
  return o.str();
}

class ClientStream : public ::testing::Test {
 protected:
  ClientStream() : log_("client", std::make_shared<spdlog::sinks::ostream_sink_mt>(logged_)) {}
  Result<ClientResponse> stream(ClientRequest req, std::string& got, StreamOptions opts = {},
                                std::size_t stop_after = 0) {
    BeastHttpClient client(ioc_, cfg_, log_);
    return test::run_sync(ioc_, client.stream(std::move(req), [&got, stop_after](std::string_view c) {
      got.append(c);
      return stop_after == 0 || got.size() < stop_after;
    }, std::move(opts)));
  }
  boost::asio::io_context ioc_;
  config::HttpClientConfig cfg_;
  std::ostringstream logged_;
  spdlog::logger log_;
};

TEST_F(ClientStream, DeliversAChunkedBodyAndEndsWithTheServer) {
  TestServer server([](SeenRequest const&) {
    return Reply{chunked_head() + chunk("{\"type\":\"ADDED\"}\n") + chunk("{\"type\":\"DELETED\"}\n") + "0\r\n\r\n"};
  });
  std::string got;
  auto r = stream({.url = server.url("/watch")}, got);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "");
  EXPECT_EQ(got, "{\"type\":\"ADDED\"}\n{\"type\":\"DELETED\"}\n");
}

TEST_F(ClientStream, ErrorStatusIsReturnedWholeAndNotStreamed) {
  TestServer server([](SeenRequest const&) { return Reply{http_response("{\"reason\":\"Expired\"}", 410)}; });
  std::string got;
  auto r = stream({.url = server.url("/watch")}, got);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 410u);
  EXPECT_EQ(r->body, "{\"reason\":\"Expired\"}");
  EXPECT_EQ(got, "");
}

TEST_F(ClientStream, ASilentBodyIsAStall) {
  TestServer server([](SeenRequest const&) { return Reply{chunked_head() + chunk("{}\n")}; });  // then silence
  std::string got;
  auto r = stream({.url = server.url("/watch"), .timeout = 10s}, got, {.idle_timeout = 200ms});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("stalled"), std::string::npos) << r.error().message;
  EXPECT_EQ(got, "{}\n");
}

TEST_F(ClientStream, HandlerReturningFalseEndsTheStream) {
  TestServer server([](SeenRequest const&) { return Reply{chunked_head() + chunk("aaaa") + chunk("bbbb")}; });
  std::string got;
  auto r = stream({.url = server.url("/watch"), .timeout = 10s}, got, {}, 4);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(got.substr(0, 4), "aaaa");
}

TEST_F(ClientStream, CancelFromAnotherThreadEndsAPendingRead) {
  TestServer server([](SeenRequest const&) { return Reply{chunked_head() + chunk("x")}; });
  auto cancel = std::make_shared<StreamCancel>();
  std::thread t([cancel] {
    std::this_thread::sleep_for(300ms);
    cancel->cancel();
  });
  std::string got;
  auto started = std::chrono::steady_clock::now();
  auto r = stream({.url = server.url("/watch"), .timeout = 20s}, got, {.cancel = cancel});
  t.join();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

TEST_F(ClientStream, CancelledBeforeItStartedDoesNotSend) {
  TestServer server([](SeenRequest const&) { return Reply{http_response("{}")}; });
  auto cancel = std::make_shared<StreamCancel>();
  cancel->cancel();
  std::string got;
  auto r = stream({.url = server.url("/watch")}, got, {.cancel = cancel});
  EXPECT_FALSE(r);
  EXPECT_EQ(got, "");
}

}  // namespace
}  // namespace nbhub::http
