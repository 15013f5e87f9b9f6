// <base_url>hub/logo (issue 18, point 6): nbhub's mark or JupyterHub.logo_file, with its type,
// an ETag and caching; a bad logo_file is a startup error naming the file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "web/logo.hpp"

namespace nbhub::web {
namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("nbhub-logo-" + std::to_string(::getpid()))) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(std::string const& name, std::string const& content) const {
    auto p = path_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
  std::string path(std::string const& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::string hdr(http::Response const& res, http::bhttp::field f) { return std::string(res[f]); }
std::string hdr(http::Response const& res, char const* name) { return std::string(res[name]); }

http::Response get(http::Router const& router, std::string const& path,
                   std::string const& if_none_match = "") {
  http::Request req{http::bhttp::verb::get, path, 11};
  if (!if_none_match.empty()) req.set(http::bhttp::field::if_none_match, if_none_match);
  auto found = router.find(http::bhttp::verb::get, path);
  EXPECT_EQ(found.match, http::Router::Match::found) << path;
  if (found.match != http::Router::Match::found) return {};
  http::Context ctx{req, path, path, {}, found.params};
  net::io_context ioc;
  auto fut = net::co_spawn(ioc, (*found.handler)(ctx), net::use_future);
  ioc.run();
  return fut.get();
}

TEST(Logo, DefaultIsOurSvgWithTypeEtagAndCaching) {
  http::Router router;
  add_logo_route(router, "/@/space%20word/", default_logo());
  auto res = get(router, "/@/space word/hub/logo");
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(hdr(res, http::bhttp::field::content_type), "image/svg+xml");
  EXPECT_THAT(res.body(), StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_THAT(res.body(), HasSubstr("aria-label=\"nbhub\""));
  EXPECT_EQ(hdr(res, http::bhttp::field::cache_control), "public, max-age=3600");
  EXPECT_EQ(hdr(res, "X-Content-Type-Options"), "nosniff");
  EXPECT_THAT(hdr(res, "Content-Security-Policy"), HasSubstr("default-src 'none'"));
  auto etag = hdr(res, http::bhttp::field::etag);
  ASSERT_EQ(etag.size(), 18u) << etag;

  auto again = get(router, "/@/space word/hub/logo", "W/\"other\", " + etag);
  EXPECT_EQ(again.result_int(), 304u);
  EXPECT_TRUE(again.body().empty());
  EXPECT_EQ(hdr(again, http::bhttp::field::etag), etag);
  EXPECT_EQ(get(router, "/@/space word/hub/logo", "\"other\"").result_int(), 200u);
}

TEST(Logo, LogoFileIsServedWithTheTypeOfItsExtension) {
  TempDir dir;
  std::string const png = "\x89PNG\r\n\x1a\n-not-really-a-png";
  for (auto [name, type] : {std::pair{"logo.png", "image/png"}, {"logo.JPG", "image/jpeg"},
                            {"logo.jpeg", "image/jpeg"}, {"logo.svg", "image/svg+xml"},
                            {"logo.gif", "image/gif"}, {"logo.ico", "image/x-icon"},
                            {"logo.webp", "image/webp"}}) {
    auto logo = load_logo(dir.file(name, png));
    ASSERT_TRUE(logo) << name << ": " << logo.error().message;
    EXPECT_EQ(logo->content_type, type) << name;
    EXPECT_EQ(logo->body, png);
  }
  http::Router router;
  add_logo_route(router, "/", *load_logo(dir.file("custom.png", png)));
  auto res = get(router, "/hub/logo");
  EXPECT_EQ(hdr(res, http::bhttp::field::content_type), "image/png");
  EXPECT_EQ(res.body(), png);
  EXPECT_NE(hdr(res, http::bhttp::field::etag), default_logo().etag);
}

TEST(Logo, BadLogoFileIsAnErrorNamingTheFile) {
  TempDir dir;
  auto missing = load_logo(dir.path("nope.png"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::config);
  EXPECT_EQ(missing.error().message, "logo_file \"" + dir.path("nope.png") + "\": no such file");
  auto type = load_logo(dir.file("logo.txt", "hello"));
  ASSERT_FALSE(type);
  EXPECT_THAT(type.error().message, HasSubstr("logo.txt\": not an image type nbhub serves"));
  auto empty = load_logo(dir.file("empty.svg", ""));
  ASSERT_FALSE(empty);
  EXPECT_THAT(empty.error().message, HasSubstr("empty.svg\": the file is empty"));
  fs::create_directories(dir.path("dir.png"));
  auto directory = load_logo(dir.path("dir.png"));
  ASSERT_FALSE(directory);
  EXPECT_THAT(directory.error().message, HasSubstr("dir.png\": not a regular file"));
  EXPECT_TRUE(load_logo(""));  // unset: nbhub's mark
}

}  // namespace
}  // namespace nbhub::web
