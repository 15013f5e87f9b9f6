// Issue 21: request ids (http/request_id.hpp) and access lines (http/access_log.hpp).
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include "http/access_log.hpp"
#include "http/request_id.hpp"

namespace nbhub::http {
namespace {

TEST(RequestId, PrefixAndCounterFitTheSmallStringBuffer) {
  RequestIdSource ids(0xabcdef12);
  EXPECT_EQ(ids.next(), "cdef12-1");
  EXPECT_EQ(ids.next(), "cdef12-2");
  for (int i = 0; i < 30; ++i) ids.next();
  EXPECT_EQ(ids.next(), "cdef12-21");
  EXPECT_LE(ids.next().size(), 15u);
}

TEST(RequestId, IncomingIdKeptOnlyFromATrustedPeer) {
  RequestIdSource ids(0);
  EXPECT_EQ(ids.choose("lb-123", true), "lb-123");
  EXPECT_EQ(ids.choose("lb-123", false), "000000-1");
  EXPECT_EQ(ids.choose("", true), "000000-2");
}

TEST(RequestId, UnacceptableIncomingIdsAreReplaced) {
  EXPECT_TRUE(acceptable_request_id("Root=1-67891233-abcdef012345678912345678"));  // an ALB trace id
  EXPECT_FALSE(acceptable_request_id("two words"));
  EXPECT_FALSE(acceptable_request_id("quo\"te"));
  EXPECT_FALSE(acceptable_request_id("back\\slash"));
  EXPECT_FALSE(acceptable_request_id("new\nline"));
  EXPECT_FALSE(acceptable_request_id(std::string(129, 'a')));
  EXPECT_TRUE(acceptable_request_id(std::string(128, 'a')));
}

struct Captured {
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> log = [this] {
    auto l = std::make_shared<spdlog::logger>("access", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
    l->set_pattern("%v");
    return l;
  }();
};

TEST(AccessLine, TextWithoutQueryAndWithTheId) {
  Captured c;
  write_access(*c.log, false, {.method = "GET", .target = "/hub/api/users?token=secret", .status = 200, .ms = 1.25,
                               .remote = "127.0.0.1", .conn = 7, .request_id = "abc123-1"});
  EXPECT_EQ(c.out.str(), "GET /hub/api/users 200 1.2ms ip=127.0.0.1 conn=7 id=abc123-1\n");
}

TEST(AccessLine, JsonMembersAreEscaped) {
  Captured c;
  write_access(*c.log, true, {.method = "GET", .target = "/user/a\"b/?code=x", .status = 404, .ms = 0.5,
                              .route = "/user/a\"b", .conn = 1, .request_id = "id-1"});
  auto s = c.out.str();
  ASSERT_EQ(s.front(), kJsonMembersMark);
  EXPECT_NE(s.find(R"("path":"/user/a\"b/")"), std::string::npos) << s;
  EXPECT_NE(s.find(R"("request_id":"id-1")"), std::string::npos) << s;
  EXPECT_EQ(s.find("code=x"), std::string::npos) << s;
}

TEST(AccessLine, NothingWhenTheAccessLogIsOff) {
  Captured c;
  c.log->set_level(spdlog::level::off);
  write_access(*c.log, false, {.method = "GET", .target = "/", .status = 200});
  EXPECT_EQ(c.out.str(), "");
}

}  // namespace
}  // namespace nbhub::http
