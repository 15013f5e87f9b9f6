// Names as KubeSpawner 7 makes them: the vectors are kubespawner's own slug tests and the
// examples of spec kubernetes.md §2.4 / §1.12.
#include <gtest/gtest.h>

#include <string>

#include "spawn/kube_names.hpp"

namespace nbhub::spawn::kube {
namespace {

TEST(KubeSlug, ValidNamesStayAsTheyAre) {
  EXPECT_EQ(safe_slug("jupyter-alex"), "jupyter-alex");
  EXPECT_EQ(safe_slug(std::string(63, 'x')), std::string(63, 'x'));
}

TEST(KubeSlug, OtherNamesAreStrippedAndHashed) {
  EXPECT_EQ(safe_slug("jupyter-Alex"), "jupyter-alex---3a1c285c");
  EXPECT_EQ(safe_slug("user@email.com"), "user-email-com---0925f997");
  EXPECT_EQ(safe_slug("-start"), "start---f587e2dc");
  EXPECT_EQ(safe_slug("endswith-"), "endswith---165f1166");
  EXPECT_EQ(safe_slug("username--servername"), "username-servername---d957f1de");
  EXPECT_EQ(safe_slug("jupyter-\xc3\xbcni"), "jupyter-ni---a5aaf5dd");  // ü: a run of non-[a-z0-9]
}

TEST(KubeSlug, LabelsAllowUpperCaseDotsAndUnderscores) {
  EXPECT_EQ(safe_label("Alice_B.C"), "Alice_B.C");
  EXPECT_EQ(safe_label(""), "");
  EXPECT_TRUE(is_valid_label(safe_label("alice@example.org")));
}

TEST(KubeSlug, EscapeSchemeIsEscapismWithDashAndLowerHex) {
  EXPECT_EQ(escape_slug("alice@example.org"), "alice-40example-2eorg");
  EXPECT_EQ(escape_slug("Alice"), "-41lice");
  EXPECT_EQ(escape_slug("a\tb"), "a-9b");  // '%X' has no zero padding
}

TEST(KubeNames, PodAndClaimNamesOfTheSpecExamples) {
  NameFields alice{"alice", "", "jhub", "", ""};
  EXPECT_EQ(expand_name("jupyter-{user_server}", alice, SlugScheme::safe), "jupyter-alice");
  EXPECT_EQ(expand_name("claim-{user_server}", alice, SlugScheme::safe), "claim-alice");
  NameFields mail{"alice@example.org", "", "jhub", "", ""};
  EXPECT_EQ(expand_name("jupyter-{user_server}", mail, SlugScheme::safe), "jupyter-alice-example-org---7a64adf2");
  NameFields upper{"Alice", "", "jhub", "", ""};
  EXPECT_EQ(expand_name("jupyter-{user_server}", upper, SlugScheme::safe), "jupyter-alice---3bc51062");
  NameFields gpu{"alice", "gpu", "jhub", "", ""};
  EXPECT_EQ(expand_name("jupyter-{user_server}", gpu, SlugScheme::safe), "jupyter-alice--gpu");
  EXPECT_EQ(expand_name("claim-{user_server}", gpu, SlugScheme::safe), "claim-alice--gpu");
}

TEST(KubeNames, TooLongTogetherBecomesOneMultiSlug) {
  NameFields f{std::string(45, 'a'), "gpu", "jhub", "", ""};
  EXPECT_EQ(expand_name("{user_server}", f, SlugScheme::safe), std::string(17, 'a') + "--gpu---5ea2a4b1");
}

TEST(KubeNames, LegacyTemplatesOfChartOne) {
  NameFields gpu{"alice", "gpu", "jhub", "", ""};
  // KubeSpawner 1.x: jupyter-{username}--{servername}, the trailing '-' stripped when empty.
  EXPECT_EQ(expand_name("jupyter-{username}--{servername}", gpu, SlugScheme::escape), "jupyter-alice--gpu");
  NameFields alone{"alice", "", "jhub", "", ""};
  EXPECT_EQ(expand_name("jupyter-{username}--{servername}", alone, SlugScheme::escape), "jupyter-alice");
  EXPECT_EQ(expand_name("claim-{username}{servername}", gpu, SlugScheme::escape), "claim-alicegpu");
}

TEST(KubeNames, UnknownFieldsStayVisible) {
  NameFields f{"alice", "", "jhub", "", ""};
  EXPECT_EQ(expand_name("x-{usrname}", f, SlugScheme::safe), "x-{usrname}");
  EXPECT_EQ(expand_name("{unescaped_username}-{namespace}", f, SlugScheme::safe), "alice-jhub");
}

}  // namespace
}  // namespace nbhub::spawn::kube
