// BeastHttpClient over a unix socket (ClientRequest::unix_socket), as the Docker spawner uses
// it for the Engine API. The server is a plain POSIX unix-socket listener in a thread that
// answers each request with what it saw, keeping the connection alive.
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "http/client_impl.hpp"
#include "unit/http/test_server.hpp"

namespace nbhub::http {
namespace {

class UnixServer {
 public:
  UnixServer() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "nbhub-unix-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    path_ = dir_ + "/api.sock";
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 8) != 0)
      throw std::runtime_error("cannot listen on " + path_);
    thread_ = std::thread([this] { serve(); });
  }
  ~UnixServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    std::filesystem::remove_all(dir_);
  }
  std::string const& path() const { return path_; }
  int connections() const { return connections_; }

 private:
  void serve() {
    for (;;) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++connections_;
      std::string in;
      char buf[4096];
      for (;;) {
        auto end = in.find("\r\n\r\n");
        if (end != std::string::npos) {
          auto head = in.substr(0, end);
          std::size_t length = 0;
          if (auto cl = head.find("Content-Length: "); cl != std::string::npos)
            length = std::strtoul(head.c_str() + cl + 16, nullptr, 10);
          if (in.size() >= end + 4 + length) {
            auto request_line = head.substr(0, head.find("\r\n"));
            auto host = head.substr(head.find("Host: ") + 6);
            host = host.substr(0, host.find("\r\n"));
            std::string body = request_line + " host=" + host + " body=" + in.substr(end + 4, length);
            std::string resp = "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body;
            (void)::write(c, resp.data(), resp.size());
            in.erase(0, end + 4 + length);
            continue;
          }
        }
        auto n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
      }
      ::close(c);
    }
  }
  std::string dir_, path_;
  int fd_ = -1;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

TEST(ClientUnix, SendsOverTheSocketWithTheUrlsHostAndPathAndReusesTheConnection) {
  UnixServer server;
  boost::asio::io_context ioc;
  config::HttpClientConfig cfg;
  spdlog::logger log("client", std::make_shared<spdlog::sinks::null_sink_mt>());
  BeastHttpClient client(ioc, cfg, log);
  for (int i = 0; i < 2; ++i) {
    ClientRequest req{.method = "POST",
                      .url = "http://docker/v1.41/containers/create?name=jupyter-alice",
                      .unix_socket = server.path(),
                      .body = "{}"};
    auto r = test::run_sync(ioc, client.send(std::move(req)));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 201u);
    EXPECT_EQ(r->body,
              "POST /v1.41/containers/create?name=jupyter-alice HTTP/1.1 host=docker body={}");
  }
  EXPECT_EQ(server.connections(), 1);  // pooled per socket path
}

TEST(ClientUnix, AMissingSocketIsUnavailableAndNamesThePath) {
  boost::asio::io_context ioc;
  config::HttpClientConfig cfg;
  spdlog::logger log("client", std::make_shared<spdlog::sinks::null_sink_mt>());
  BeastHttpClient client(ioc, cfg, log);
  ClientRequest req{.url = "http://docker/_ping", .unix_socket = "/nonexistent/docker.sock"};
  auto r = test::run_sync(ioc, client.send(std::move(req)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("cannot connect to unix socket /nonexistent/docker.sock"),
            std::string::npos)
      << r.error().message;
}

TEST(ClientUnix, HttpsOverAUnixSocketIsRefused) {
  auto r = detail::prepare_request(
      {.url = "https://docker/_ping", .unix_socket = "/run/docker.sock"}, std::chrono::seconds{1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::bad_request);
}

}  // namespace
}  // namespace nbhub::http
