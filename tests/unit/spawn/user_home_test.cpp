// Issue 18 point 5: homes of their own for servers that run as nbhub's own user. Names that
// must stay one path component, templates, the hub's files kept out, private directories, and
// the refusal of root servers without an opt-in.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "spawn/local_spawner.hpp"
#include "spawn/user_home.hpp"

namespace nbhub::spawn {
namespace {

namespace fs = std::filesystem;

TEST(HomeDirName, KeepsPlainNamesAndEscapesTheRest) {
  EXPECT_EQ(home_dir_name("alice"), "alice");
  EXPECT_EQ(home_dir_name("alice@example.org"), "alice@example.org");
  EXPECT_EQ(home_dir_name("first.last+tag_1-x"), "first.last+tag_1-x");
  EXPECT_EQ(home_dir_name("jürgen"), "j%C3%BCrgen");
  EXPECT_EQ(home_dir_name("a b"), "a%20b");
  EXPECT_EQ(home_dir_name(std::string("a\0b", 3)), "a%00b");
  EXPECT_EQ(home_dir_name("~root"), "%7Eroot");
}

TEST(HomeDirName, NeverGivesDotsSlashesOrHiddenNames) {
  EXPECT_EQ(home_dir_name("."), "%2E");
  EXPECT_EQ(home_dir_name(".."), "%2E.");
  EXPECT_EQ(home_dir_name("../x"), "%2E.%2Fx");
  EXPECT_EQ(home_dir_name("a/b"), "a%2Fb");
  EXPECT_EQ(home_dir_name("/"), "%2F");
  EXPECT_EQ(home_dir_name(".bashrc"), "%2Ebashrc");
  EXPECT_EQ(home_dir_name("a\\b"), "a%5Cb");
}

TEST(HomeDirName, DifferentNamesGiveDifferentDirectories) {
  // '%' is escaped too, so no name can spell another's escape.
  EXPECT_EQ(home_dir_name("%2E"), "%252E");
  EXPECT_NE(home_dir_name("%2E"), home_dir_name("."));
  EXPECT_NE(home_dir_name("a%2Fb"), home_dir_name("a/b"));
}

TEST(HomeDirTemplate, AcceptsUsernameTemplates) {
  EXPECT_TRUE(check_home_dir_template("homes/{username}"));
  EXPECT_TRUE(check_home_dir_template("/tmp/{username}"));
  EXPECT_TRUE(check_home_dir_template("/srv/home-{username}/work"));
}

TEST(HomeDirTemplate, RefusesTemplatesThatWouldShareOrEscape) {
  auto msg = [](std::string_view t) {
    auto r = check_home_dir_template(t);
    EXPECT_FALSE(r) << t;
    if (r) return std::string();
    EXPECT_EQ(r.error().code, Errc::config);
    return r.error().message;
  };
  EXPECT_EQ(msg("/srv/homes"), "spawner.home_dir_template \"/srv/homes\": needs {username}, or "
                               "every user would share one home");
  EXPECT_EQ(msg("/srv/{servername}/{username}"),
            "spawner.home_dir_template \"/srv/{servername}/{username}\": only {username} is "
            "replaced (a home belongs to a user, not to one of their servers), found "
            "'{servername}'");
  EXPECT_NE(msg("/srv/{user}").find("found '{user}'"), std::string::npos);
  EXPECT_NE(msg("/srv/{username}}").find("found '}'"), std::string::npos);
  EXPECT_NE(msg("/srv/{username}/..").find("no '..'"), std::string::npos);
  EXPECT_NE(msg("../{username}").find("no '..'"), std::string::npos);
  EXPECT_NE(msg("").find("empty"), std::string::npos);
}

TEST(HomeDirFor, ExpandsEscapedAndNormalized) {
  auto h = home_dir_for("/srv/./homes//{username}/", "jürgen", {});
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(*h, "/srv/homes/j%C3%BCrgen");
  auto rel = home_dir_for("homes/{username}", "alice", {});
  ASSERT_TRUE(rel);
  EXPECT_EQ(*rel, fs::weakly_canonical(fs::current_path() / "homes" / "alice").string());
}

TEST(HomeDirFor, CraftedNamesStayInTheirParent) {
  for (std::string name : std::vector<std::string>{"..", "../..", "/", "a/../../b", ".", "~",
                                                  "../../etc", "..%2F", std::string("\0", 1)}) {
    auto h = home_dir_for("/srv/homes/{username}", name, {});
    ASSERT_TRUE(h) << name;
    EXPECT_EQ(fs::path(*h).parent_path(), "/srv/homes") << name << " -> " << *h;
    EXPECT_NE(fs::path(*h).filename(), "..") << name;
    EXPECT_NE(fs::path(*h).filename(), ".") << name;
  }
}

TEST(HomeDirFor, RefusesAHomeHoldingTheHubsFiles) {
  std::vector<HubStatePath> hub{{"cookie_secret_file", "/srv/nbhub/alice/cookie_secret"},
                                {"working directory", "/srv/nbhub"}};
  auto alice = home_dir_for("/srv/nbhub/{username}", "alice", hub);
  ASSERT_FALSE(alice);
  EXPECT_EQ(alice.error().code, Errc::config);
  EXPECT_EQ(alice.error().message,
            "spawner.home_dir_template gives alice's server the directory /srv/nbhub/alice, "
            "which holds the hub's cookie_secret_file (/srv/nbhub/alice/cookie_secret): the "
            "server could read it. Choose a directory apart from the hub's files (the default "
            "home is homes/{username} under data_dir)");
  EXPECT_TRUE(home_dir_for("/srv/nbhub/{username}", "bob", hub));  // beside, not above
  // A home that is the hub's working directory itself.
  auto same = home_dir_for("/srv/{username}", "nbhub", {{"working directory", "/srv/nbhub"}});
  ASSERT_FALSE(same);
  EXPECT_NE(same.error().message.find("holds the hub's working directory"), std::string::npos);
}

TEST(HubState, ComparesWholeComponentsNotPrefixes) {
  std::vector<HubStatePath> hub{{"database", "/srv/alice2/nbhub.sqlite"}};
  EXPECT_TRUE(check_holds_no_hub_state("/srv/alice", hub, "x", "alice"));
  EXPECT_FALSE(check_holds_no_hub_state("/srv/alice2/", hub, "x", "alice"));
  EXPECT_FALSE(check_holds_no_hub_state("/", hub, "spawner.notebook_dir", "alice"));
}

class PrivateDirTest : public ::testing::Test {
 protected:
  PrivateDirTest() {
    char tmpl[] = "/tmp/nbhub-home-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~PrivateDirTest() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static unsigned mode(std::string const& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
  std::string dir_;
};

TEST_F(PrivateDirTest, CreatesHomeAndParentsPrivate) {
  auto home = dir_ + "/homes/alice";
  auto r = make_private_dir(home, ::geteuid());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(*r);
  EXPECT_EQ(mode(home), 0700u);
  EXPECT_EQ(mode(dir_ + "/homes"), 0700u);
  auto again = make_private_dir(home, ::geteuid());  // idempotent
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
}

TEST_F(PrivateDirTest, NarrowsAnOpenExistingHome) {
  auto home = dir_ + "/alice";
  ASSERT_EQ(::mkdir(home.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(home.c_str(), 0777), 0);
  auto r = make_private_dir(home, ::geteuid());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(*r);
  EXPECT_EQ(mode(home), 0700u);
}

TEST_F(PrivateDirTest, RefusesSymlinksFilesAndStrangersDirectories) {
  fs::create_directory(dir_ + "/elsewhere");
  fs::create_directory_symlink(dir_ + "/elsewhere", dir_ + "/link");
  auto link = make_private_dir(dir_ + "/link", ::geteuid());
  ASSERT_FALSE(link);
  EXPECT_EQ(link.error().code, Errc::config);
  EXPECT_EQ(link.error().message,
            "cannot use " + dir_ + "/link as a home directory: it is a symbolic link, which "
            "nbhub does not follow; remove it or change spawner.home_dir_template");
  std::ofstream(dir_ + "/file") << "x";
  auto file = make_private_dir(dir_ + "/file", ::geteuid());
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message.find("it is not a directory"), std::string::npos);
  // Someone else's directory (a pre-made /tmp/alice, say) is never handed to a user.
  fs::create_directory(dir_ + "/theirs");
  auto theirs = make_private_dir(dir_ + "/theirs", ::geteuid() + 1);
  ASSERT_FALSE(theirs);
  EXPECT_NE(theirs.error().message.find("it belongs to uid " + std::to_string(::geteuid())),
            std::string::npos)
      << theirs.error().message;
}

TEST_F(PrivateDirTest, AHomeThatIsALinkIsRefusedNotFollowed) {
  fs::create_directories(dir_ + "/homes");
  fs::create_directory(dir_ + "/elsewhere");
  fs::create_directory_symlink(dir_ + "/elsewhere", dir_ + "/homes/alice");
  auto home = home_dir_for(dir_ + "/homes/{username}", "alice", {});
  ASSERT_TRUE(home) << home.error().message;
  EXPECT_EQ(*home, fs::weakly_canonical(dir_ + "/homes").string() + "/alice");
  auto r = make_private_dir(*home, ::geteuid());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("symbolic link"), std::string::npos);
}

TEST(CheckRootServers, RootServersNeedAnOptIn) {
  SpawnerConfig cfg;
  EXPECT_TRUE(check_root_servers(cfg, 1000));  // not root: nothing to allow
  auto r = check_root_servers(cfg, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::config);
  EXPECT_NE(r.error().message.find("spawner.allow_root_servers = true"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("NBHUB_SPAWNER_ALLOW_ROOT_SERVERS=true"), std::string::npos);
  EXPECT_NE(r.error().message.find("spawner.run_as_system_user"), std::string::npos);

  auto allowed = cfg;
  allowed.allow_root_servers = true;
  EXPECT_TRUE(check_root_servers(allowed, 0));
  auto jupyterhub_way = cfg;  // c.Spawner.args = ["--allow-root"]
  jupyterhub_way.args = {"--debug", "--allow-root"};
  EXPECT_TRUE(check_root_servers(jupyterhub_way, 0));
  auto system_users = cfg;
  system_users.run_as_system_user = true;
  EXPECT_TRUE(check_root_servers(system_users, 0));
}

}  // namespace
}  // namespace nbhub::spawn
