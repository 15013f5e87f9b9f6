#include "acme/acme_client.hpp"
#include "acme/acme_manager.hpp"
#include "acme/challenges.hpp"

#include <gtest/gtest.h>

using namespace nbhub;
using namespace nbhub::acme;
using namespace std::chrono_literals;

TEST(ProblemError, NamesTheStepTheUrlAndTheProblemsTypeAndDetail) {
  http::ClientResponse res;
  res.status = 403;
  res.headers = {{"Content-Type", "application/problem+json"}};
  res.body = R"({"type":"urn:ietf:params:acme:error:unauthorized","detail":"Account is deactivated","status":403})";
  auto e = problem_error("newOrder", "https://ca/new-order", res);
  EXPECT_EQ(e.code, Errc::bad_request);
  EXPECT_EQ(e.message,
            "acme newOrder (https://ca/new-order): HTTP 403 "
            "urn:ietf:params:acme:error:unauthorized: Account is deactivated");
  auto p = parse_problem(res);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type, "urn:ietf:params:acme:error:unauthorized");
}

TEST(ProblemError, RateLimitsAndServerErrorsAreUnavailableAndNonJsonIsSaidSo) {
  http::ClientResponse res;
  res.status = 429;
  res.body = R"({"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many"})";
  EXPECT_EQ(problem_error("finalize", "u", res).code, Errc::unavailable);
  res.status = 502;
  res.body = "<html>bad gateway</html>";
  auto e = problem_error("directory", "https://ca/dir", res);
  EXPECT_EQ(e.code, Errc::unavailable);
  EXPECT_EQ(e.message, "acme directory (https://ca/dir): HTTP 502 without a problem document");
  EXPECT_FALSE(parse_problem(res));
}

TEST(Backoff, DoublesFromTheMinimumUpToTheMaximum) {
  EXPECT_EQ(backoff_delay(1, 60s, 3600s), 60s);
  EXPECT_EQ(backoff_delay(2, 60s, 3600s), 120s);
  EXPECT_EQ(backoff_delay(4, 60s, 3600s), 480s);
  EXPECT_EQ(backoff_delay(7, 60s, 3600s), 3600s);
  EXPECT_EQ(backoff_delay(1000, 60s, 3600s), 3600s);  // no overflow
}

TEST(RecordNames, CertificateNameIgnoresTheOrderOfDomains) {
  config::AcmeSettings a, b;
  a.domains = {"b.example", "a.example"};
  b.domains = {"a.example", "b.example"};
  EXPECT_EQ(certificate_record_name(a), certificate_record_name(b));
  EXPECT_EQ(certificate_record_name(a),
            "certificate https://acme-v02.api.letsencrypt.org/directory a.example,b.example");
  b.directory_url = "https://pebble/dir";
  EXPECT_NE(certificate_record_name(a), certificate_record_name(b));
  EXPECT_NE(account_record_name(a), account_record_name(b));
}

TEST(Http01Responder, AnswersKnownTokensUntilWithdrawn) {
  Http01Responder responder;
  Http01Solver solver(responder);
  ASSERT_TRUE(solver.present("hub.example", "tok", "tok.thumb"));
  EXPECT_EQ(responder.find("tok"), "tok.thumb");
  EXPECT_FALSE(responder.find("other"));
  solver.withdraw("hub.example", "tok");
  EXPECT_FALSE(responder.find("tok"));
}

TEST(Http01Responder, AsksTheSharedLookupForTokensItDoesNotKnowAndPublishes) {
  std::map<std::string, std::string> shared{{"theirs", "theirs.thumb"}};
  Http01Responder responder([&](std::string const& t) -> std::optional<std::string> {
    auto it = shared.find(t);
    if (it == shared.end()) return std::nullopt;
    return it->second;
  });
  Http01Solver solver(responder, [&](std::string const& t, std::optional<std::string> a) {
    if (a)
      shared[t] = *a;
    else
      shared.erase(t);
  });
  EXPECT_EQ(responder.find("theirs"), "theirs.thumb");
  ASSERT_TRUE(solver.present("hub.example", "mine", "mine.thumb"));
  EXPECT_EQ(shared["mine"], "mine.thumb");
  solver.withdraw("hub.example", "mine");
  EXPECT_FALSE(shared.count("mine"));
  EXPECT_FALSE(responder.find("mine"));
}

TEST(TlsAlpnSolver, HandsTheChallengeCertificateToTheListenerAndRemovesIt) {
  FakeClock clock{std::chrono::system_clock::from_time_t(1767225600)};
  std::map<std::string, std::optional<tls::CertificatePair>> seen;
  TlsSink sink;
  sink.set_alpn_challenge = [&](std::string const& d, std::optional<tls::CertificatePair> c) {
    seen[d] = std::move(c);
  };
  TlsAlpnSolver solver(sink, clock);
  ASSERT_TRUE(solver.present("hub.example", "tok", "tok.thumb"));
  ASSERT_TRUE(seen["hub.example"]);
  EXPECT_TRUE(inspect(*seen["hub.example"]));
  solver.withdraw("hub.example", "tok");
  EXPECT_FALSE(seen["hub.example"]);

  TlsSink none;
  TlsAlpnSolver unusable(none, clock);
  auto r = unusable.present("hub.example", "tok", "tok.thumb");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::config);
  EXPECT_NE(r.error().message.find("tls.acme.challenge"), std::string::npos);
}
