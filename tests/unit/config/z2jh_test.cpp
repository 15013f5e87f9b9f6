// z2jh mode: the zero-to-jupyterhub hub pod's files read instead of the chart's Python
// (spec/kubernetes.md §1.10, §1.11, §5.2). The pod's directory is laid out in a temp dir.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/z2jh_values.hpp"
#include "unit/config/config_test_util.hpp"

namespace nbhub::config {
namespace {

namespace fs = std::filesystem;
using namespace cfgtest;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// The parts of chart 4.4.0's rendered secret/values.yaml that z2jh's Python reads, with the
// Custos seed's extraConfig (tests/integration/test_z2jh_mode.py renders the real charts).
std::string const kValues440 = R"(Chart:
  AppVersion: 5.5.0
  Name: jupyterhub
  Version: 4.4.0
Release:
  Name: jhub
  Namespace: jhub
  Service: Helm
cull:
  adminUsers: true
  concurrency: 10
  enabled: true
  every: 600
  maxAge: 0
  removeNamedServers: false
  timeout: 3600
  users: false
debug:
  enabled: false
hub:
  activeServerLimit: null
  allowNamedServers: false
  baseUrl: /
  concurrentSpawnLimit: 64
  config:
    JupyterHub:
      admin_access: true
      authenticator_class: dummy
  consecutiveFailureLimit: 5
  db:
    password: null
    type: sqlite-pvc
    url: null
  extraConfig:
    00-custos: |
      from custosauthenticator.custos import CustosOAuthenticator
      c.JupyterHub.authenticator_class = CustosOAuthenticator
      c.CustosOAuthenticator.oauth_callback_url = "https://your.jupyterhub.com/hub/oauth_callback"
      c.CustosOAuthenticator.client_id = "custos-xxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      c.CustosOAuthenticator.client_secret = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      c.CustosOAuthenticator.login_service = "Custos Login"
      c.CustosOAuthenticator.custos_host= "custos.scigap.org"
  loadRoles: {}
  services: {}
  shutdownOnLogout: null
  templatePaths: []
  templateVars: {}
imagePullSecret:
  automaticReferenceInjection: true
  create: false
imagePullSecrets: []
scheduling:
  podPriority:
    enabled: false
  userPods:
    nodeAffinity:
      matchNodePurpose: prefer
    tolerations:
    - effect: NoSchedule
      key: hub.jupyter.org/dedicated
      operator: Equal
      value: user
  userScheduler:
    enabled: true
singleuser:
  allowPrivilegeEscalation: false
  cloudMetadata:
    blockWithIptables: true
    ip: 169.254.169.254
  cmd: jupyterhub-singleuser
  cpu:
    guarantee: null
    limit: null
  defaultUrl: null
  events: true
  extraEnv: {}
  extraLabels:
    hub.jupyter.org/network-access-hub: "true"
  extraTolerations: []
  fsGid: 100
  image:
    name: quay.io/jupyterhub/k8s-singleuser-sample
    pullPolicy: null
    pullSecrets: []
    tag: 4.4.0
  memory:
    guarantee: 1G
    limit: null
  networkTools:
    image:
      name: quay.io/jupyterhub/k8s-network-tools
      tag: 4.4.0
    resources: {}
  startTimeout: 300
  storage:
    capacity: 10Gi
    dynamic:
      pvcNameTemplate: null
      storageAccessModes:
      - ReadWriteOnce
      storageClass: null
      subPath: null
      volumeNameTemplate: volume-{user_server}
    extraVolumeMounts: null
    extraVolumes: null
    homeMountPath: /home/jovyan
    type: dynamic
  uid: 1000
)";

constexpr char kCookieHex[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr char kCryptHex[] = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

// A hub pod's /usr/local/etc/jupyterhub in a temp dir.
class Pod {
 public:
  explicit Pod(std::string const& values) {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("nbhub-z2jh-" + std::to_string(rd()));
    write("jupyterhub_config.py", "from z2jh import get_config\nimport kubernetes_asyncio\n");
    write("z2jh.py", "# helpers\n");
    write("secret/values.yaml", values);
    write("secret/hub.config.JupyterHub.cookie_secret", kCookieHex);
    write("secret/hub.config.CryptKeeper.keys", kCryptHex);
    write("secret/hub.config.ConfigurableHTTPProxy.auth_token", "proxytoken");
    write("config/hub", "hub");
    write("config/proxy-api", "proxy-api");
    write("config/user-scheduler", "jhub-user-scheduler");
  }
  ~Pod() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void write(std::string const& rel, std::string const& text) const {
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel, std::ios::binary) << text;
  }
  std::string config() const { return (dir_ / "jupyterhub_config.py").string(); }
  Loaded load(Env env = {}) const {
    env.emplace("POD_NAMESPACE", "jhub");
    env.emplace("HUB_SERVICE_PORT", "8081");
    env.emplace("PROXY_API_SERVICE_PORT", "8001");
    env.emplace("CONFIGPROXY_AUTH_TOKEN", "proxytoken");
    CliInvocation cli;
    cli.config_file = config();
    return config::load(cli, env);
  }

 private:
  fs::path dir_;
};

std::string option(Loaded const& l, std::string const& key) {
  auto it = l.hub.spawner_options.find(key);
  return it == l.hub.spawner_options.end() ? "<unset>" : it->second;
}

std::string replaced(std::string s, std::string const& from, std::string const& to) {
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST(Z2jhValues, TypesScalarsAsHelmWritesThem) {
  auto v = z2jh::Values::parse("a:\n  t: true\n  s: \"true\"\n  n: null\n  i: 100\n  f: 0.5\n"
                               "  m: 1G\n  block: |\n    x = 1\n  list: [1, two]\n",
                               "values.yaml");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->find("a.t")->kind, Value::Kind::boolean);
  EXPECT_EQ(v->find("a.s")->kind, Value::Kind::string);
  EXPECT_EQ(v->find("a.n")->kind, Value::Kind::none);
  EXPECT_EQ(v->find("a.i")->integer, 100);
  EXPECT_EQ(v->find("a.f")->real, 0.5);
  EXPECT_EQ(v->find("a.m")->string, "1G");
  EXPECT_EQ(v->find("a.block")->string, "x = 1\n");
  EXPECT_EQ(v->find("a.list")->items.size(), 2u);
  EXPECT_EQ(v->find("a.missing"), nullptr);
  EXPECT_EQ(v->place("a.i").line, 5);
  EXPECT_EQ(v->place("a.i.deeper").line, 5);
}

TEST(Z2jhValues, ExistingSecretValuesMergeOverTheChartsKeyByKey) {
  auto v = z2jh::Values::parse("hub:\n  a: 1\n  b: {x: 1, y: 2}\n", "secret/values.yaml",
                               "hub:\n  b: {y: 3}\n", "existing-secret/values.yaml");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->find("hub.a")->integer, 1);
  EXPECT_EQ(v->find("hub.b.x")->integer, 1);
  EXPECT_EQ(v->find("hub.b.y")->integer, 3);
  EXPECT_EQ(v->place("hub.b.y").file, "existing-secret/values.yaml");
}

TEST(Z2jhValues, BadYamlNamesFileAndLine) {
  auto v = z2jh::Values::parse("hub:\n  a: [1, 2\n", "secret/values.yaml");
  ASSERT_FALSE(v);
  EXPECT_THAT(v.error().message, HasSubstr("secret/values.yaml:"));
  EXPECT_THAT(v.error().message, HasSubstr("not valid YAML"));
}

TEST(Z2jhMode, DetectsTheChartsConfigFile) {
  Pod pod(kValues440);
  EXPECT_TRUE(is_z2jh_config(pod.config(), "c.JupyterHub.port = 1\n"));  // files beside it
  EXPECT_TRUE(is_z2jh_config("/nowhere/jupyterhub_config.py", "from z2jh import get_config\n"));
  EXPECT_FALSE(is_z2jh_config("/nowhere/jupyterhub_config.py", "c.JupyterHub.port = 1\n"));
}

TEST(Z2jhMode, CustosSeedOnChart440) {
  Pod pod(kValues440);
  auto l = pod.load();
  ASSERT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  ASSERT_TRUE(l.z2jh);
  auto const& h = l.hub;
  EXPECT_EQ(h.spawner, "kubernetes");
  EXPECT_EQ(h.base_url, "/");
  EXPECT_EQ(h.ip, "127.0.0.1");
  EXPECT_EQ(h.hub_bind_url, "http://:8081");
  EXPECT_EQ(h.hub_connect_url, "http://hub:8081");
  EXPECT_EQ(h.db_url, "sqlite:///nbhub.sqlite");
  EXPECT_EQ(h.proxy.chp_api_url, "http://proxy-api:8001");
  EXPECT_TRUE(h.admin_access);
  EXPECT_EQ(h.spawner_settings.concurrent_spawn_limit, 64u);
  EXPECT_EQ(h.spawner_settings.start_timeout, std::chrono::seconds(300));
  EXPECT_EQ(h.spawner_settings.cmd, std::vector<std::string>{"jupyterhub-singleuser"});
  EXPECT_TRUE(h.cull.enabled);
  EXPECT_EQ(h.cull.timeout, std::chrono::seconds(3600));
  EXPECT_EQ(h.cull.every, std::chrono::seconds(600));
  EXPECT_FALSE(h.cull.users);

  EXPECT_EQ(option(l, "KubeSpawner.image"), "quay.io/jupyterhub/k8s-singleuser-sample:4.4.0");
  EXPECT_EQ(option(l, "KubeSpawner.namespace"), "jhub");
  EXPECT_EQ(option(l, "KubeSpawner.uid"), "1000");
  EXPECT_EQ(option(l, "KubeSpawner.fs_gid"), "100");
  EXPECT_EQ(option(l, "KubeSpawner.mem_guarantee"), "1G");
  EXPECT_EQ(option(l, "KubeSpawner.mem_limit"), "<unset>");
  EXPECT_EQ(option(l, "KubeSpawner.events_enabled"), "true");
  EXPECT_EQ(option(l, "KubeSpawner.allow_privilege_escalation"), "false");
  EXPECT_EQ(option(l, "KubeSpawner.extra_labels"), R"({"hub.jupyter.org/network-access-hub":"true"})");
  EXPECT_EQ(option(l, "KubeSpawner.common_labels"),
            R"({"app.kubernetes.io/name":"jupyterhub","app":"jupyterhub",)"
            R"("app.kubernetes.io/instance":"jhub","release":"jhub",)"
            R"("helm.sh/chart":"jupyterhub-4.4.0","chart":"jupyterhub-4.4.0",)"
            R"("app.kubernetes.io/managed-by":"kubespawner"})");
  EXPECT_EQ(option(l, "KubeSpawner.scheduler_name"), "jhub-user-scheduler");
  EXPECT_EQ(option(l, "KubeSpawner.tolerations"),
            R"([{"effect":"NoSchedule","key":"hub.jupyter.org/dedicated","operator":"Equal","value":"user"}])");
  EXPECT_EQ(option(l, "KubeSpawner.node_affinity_preferred"),
            R"([{"weight":100,"preference":{"matchExpressions":[{"key":"hub.jupyter.org/node-purpose",)"
            R"("operator":"In","values":["user"]}]}}])");
  EXPECT_EQ(option(l, "KubeSpawner.storage_pvc_ensure"), "true");
  EXPECT_EQ(option(l, "KubeSpawner.storage_capacity"), "10Gi");
  EXPECT_EQ(option(l, "KubeSpawner.storage_access_modes"), R"(["ReadWriteOnce"])");
  EXPECT_EQ(option(l, "KubeSpawner.storage_class"), "<unset>");
  EXPECT_EQ(option(l, "KubeSpawner.pvc_name_template"), "<unset>");
  EXPECT_EQ(option(l, "KubeSpawner.volumes"),
            R"([{"name":"volume-{user_server}","persistentVolumeClaim":{"claimName":"{pvc_name}"}}])");
  EXPECT_EQ(option(l, "KubeSpawner.volume_mounts"),
            R"([{"mountPath":"/home/jovyan","name":"volume-{user_server}"}])");
  EXPECT_THAT(option(l, "KubeSpawner.init_containers"), HasSubstr(R"("name":"block-cloud-metadata")"));
  EXPECT_THAT(option(l, "KubeSpawner.init_containers"),
              HasSubstr(R"("image":"quay.io/jupyterhub/k8s-network-tools:4.4.0")"));
  EXPECT_EQ(option(l, "KubeSpawner.slug_scheme"), "<unset>");  // 7.x default: safe
  EXPECT_EQ(option(l, "Spawner.consecutive_failure_limit"), "5");

  ASSERT_EQ(h.auth.providers.size(), 1u);
  auto const& p = h.auth.providers[0];
  EXPECT_EQ(p.kind, "custos");
  EXPECT_EQ(p.login_service, "Custos Login");
  EXPECT_EQ(p.client_id, "custos-xxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  EXPECT_EQ(p.client_secret.reveal(), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  EXPECT_EQ(p.custos_host, "custos.scigap.org");
  EXPECT_EQ(p.oauth_callback_url, "https://your.jupyterhub.com/hub/oauth_callback");

  auto const& env = l.z2jh->secret_env;
  EXPECT_EQ(env.at("JUPYTERHUB_COOKIE_SECRET"), kCookieHex);
  EXPECT_EQ(env.at("JUPYTERHUB_CRYPT_KEY"), kCryptHex);
  EXPECT_EQ(env.count("PGPASSWORD"), 0u);
  // The summary never shows a secret.
  for (auto const& line : l.z2jh->summary) {
    EXPECT_THAT(line, Not(HasSubstr("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")));
    EXPECT_THAT(line, Not(HasSubstr(kCookieHex)));
  }
  EXPECT_THAT(l.z2jh->summary, Contains("KubeSpawner.scheduler_name = jhub-user-scheduler"));
}

TEST(Z2jhMode, Chart120LabelsClaimNamesAndEscapeSlugs) {
  auto v = replaced(kValues440, "  Version: 4.4.0\n", "  Version: 1.2.0\n");
  v = replaced(v, "      pvcNameTemplate: null\n", "      pvcNameTemplate: claim-{username}{servername}\n");
  v = replaced(v, "      volumeNameTemplate: volume-{user_server}\n",
               "      volumeNameTemplate: volume-{username}{servername}\n");
  Pod pod(v);
  auto l = pod.load();
  ASSERT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  EXPECT_EQ(option(l, "KubeSpawner.common_labels"),
            R"({"app":"jupyterhub","heritage":"jupyterhub","chart":"jupyterhub-1.2.0","release":"jhub"})");
  EXPECT_EQ(option(l, "KubeSpawner.slug_scheme"), "escape");
  EXPECT_EQ(option(l, "KubeSpawner.pvc_name_template"), "claim-{username}{servername}");
  EXPECT_EQ(option(l, "KubeSpawner.volumes"),
            R"([{"name":"volume-{username}{servername}","persistentVolumeClaim":)"
            R"({"claimName":"claim-{username}{servername}"}}])");
  EXPECT_EQ(option(l, "KubeSpawner.allow_privilege_escalation"), "<unset>");
  EXPECT_THAT(option(l, "KubeSpawner.init_containers"), HasSubstr(R"(["iptables","-A","OUTPUT")"));
}

TEST(Z2jhMode, ExistingSecretAndServicePortsAndPostgres) {
  auto v = replaced(kValues440, "    type: sqlite-pvc\n    url: null\n",
                    "    type: postgres\n    url: postgresql+psycopg2://hub@db.example.org/hub\n");
  Pod pod(v);
  pod.write("existing-secret/hub.config.JupyterHub.cookie_secret", std::string(64, 'f'));
  pod.write("secret/hub.db.password", "pw-from-secret");
  pod.write("existing-secret/values.yaml", "hub:\n  baseUrl: /jh/\n");
  auto l = pod.load({{"HUB_SERVICE_PORT", "18081"}, {"PROXY_API_SERVICE_PORT", "18001"}});
  ASSERT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  EXPECT_EQ(l.hub.base_url, "/jh/");
  EXPECT_EQ(l.hub.hub_connect_url, "http://hub:18081");
  EXPECT_EQ(l.hub.proxy.chp_api_url, "http://proxy-api:18001");
  EXPECT_EQ(l.hub.db_url, "postgresql://hub@db.example.org/hub");
  EXPECT_EQ(l.z2jh->secret_env.at("JUPYTERHUB_COOKIE_SECRET"), std::string(64, 'f'));
  EXPECT_EQ(l.z2jh->secret_env.at("PGPASSWORD"), "pw-from-secret");
}

TEST(Z2jhMode, LaterSourcesWinAsInTheChartsPython) {
  auto v = replaced(kValues440, "      authenticator_class: dummy\n",
                    "      authenticator_class: dummy\n      cookie_secret: dropped\n"
                    "    KubeSpawner:\n      image: from/hub-config:1\n");
  Pod pod(v);
  pod.write("jupyterhub_config.d/10-image.py", "c.KubeSpawner.image = 'from/config-d:2'\n"
                                               "c.KubeSpawner.cpu_limit = 2\n");
  auto l = pod.load();
  ASSERT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  EXPECT_EQ(option(l, "KubeSpawner.image"), "from/config-d:2");
  EXPECT_EQ(option(l, "KubeSpawner.cpu_limit"), "2");
}

TEST(Z2jhMode, UnsupportedPythonInExtraConfigNamesTheValuesKeyAndLine) {
  auto v = replaced(kValues440, "      c.CustosOAuthenticator.custos_host= \"custos.scigap.org\"\n",
               "      c.CustosOAuthenticator.custos_host= \"custos.scigap.org\"\n"
               "    50-hook: |\n"
               "      import os\n"
               "      async def hook(spawner):\n"
               "          spawner.environment['X'] = '1'\n"
               "      c.KubeSpawner.pre_spawn_hook = hook\n");
  Pod pod(v);
  auto l = pod.load();
  ASSERT_FALSE(l.ok());
  auto e = errors(l);
  ASSERT_FALSE(e.empty());
  EXPECT_THAT(e[0], HasSubstr("hub.extraConfig.50-hook:2:"));
}

// With python3 (issue 22) the same snippet runs: over the chart's settings, with z2jh's helpers
// reading the values, and its hook recorded for the helper.
TEST(Z2jhMode, ExtraConfigRunsInPythonWithTheChartsHelpers) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  auto v = replaced(kValues440, "      c.CustosOAuthenticator.custos_host= \"custos.scigap.org\"\n",
                    "      c.CustosOAuthenticator.custos_host= \"custos.scigap.org\"\n"
                    "    50-hook: |\n"
                    "      from z2jh import get_config, get_name, set_config_if_not_none\n"
                    "      async def hook(spawner):\n"
                    "          spawner.environment['X'] = '1'\n"
                    "      c.KubeSpawner.pre_spawn_hook = hook\n"
                    "      c.KubeSpawner.extra_labels = {f'tier-{i}': get_config('Release.Name') for i in range(2)}\n"
                    "      c.KubeSpawner.extra_labels.update({'hub': get_name('hub')})\n"
                    "      set_config_if_not_none(c.KubeSpawner, 'namespace', 'Release.Namespace')\n"
                    "      c.Authenticator.allow_all = c.JupyterHub.admin_access\n");
  Pod pod(v);
  auto l = pod.load({{"PATH", "/usr/bin:/bin"}});
  EXPECT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  EXPECT_EQ(option(l, "KubeSpawner.extra_labels"), R"({"tier-0":"jhub","tier-1":"jhub","hub":"hub"})");
  EXPECT_EQ(option(l, "KubeSpawner.namespace"), "jhub");
  EXPECT_TRUE(l.hub.auth.allow_all);  // hub.config's admin_access, read back in Python
  EXPECT_THAT(l.hub.python.hooks, ::testing::ElementsAre("KubeSpawner.pre_spawn_hook"));
  EXPECT_THAT(l.hub.python.spawner_sections, ::testing::ElementsAre("Spawner", "KubeSpawner"));
  ASSERT_EQ(l.hub.auth.providers.size(), 1u);
  EXPECT_EQ(l.hub.auth.providers[0].kind, "custos");

  Pod broken(replaced(kValues440, "      c.CustosOAuthenticator.custos_host= \"custos.scigap.org\"\n",
                      "    50-x: |\n      for i in range(2):\n          c.KubeSpawner.image = {}['x']\n"));
  auto b = broken.load({{"PATH", "/usr/bin:/bin"}});
  EXPECT_THAT(errors(b), ::testing::ElementsAre("hub.extraConfig.50-x:2: KeyError: 'x'"));
}

TEST(Z2jhMode, LowerCaseHubConfigSectionIsFatal) {
  auto v = replaced(kValues440, "      authenticator_class: dummy\n",
                    "      authenticator_class: dummy\n    loadRoles:\n      x: {}\n");
  Pod pod(v);
  auto l = pod.load();
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(errors(l), Contains(HasSubstr("hub.config.loadRoles: hub.config sections must be")));
}

TEST(Z2jhMode, BadValuesAreNamed) {
  auto v = replaced(kValues440, "    type: dynamic\n", "    type: hostpath\n");
  v = replaced(v, "      matchNodePurpose: prefer\n", "      matchNodePurpose: always\n");
  Pod pod(v);
  auto l = pod.load();
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(errors(l), Contains(HasSubstr("singleuser.storage.type: expected dynamic, static or none, got \"hostpath\"")));
  EXPECT_THAT(errors(l), Contains(HasSubstr("scheduling.userPods.nodeAffinity.matchNodePurpose: expected prefer")));
}

// Issue 18, point 4: the chart's default values say `authenticator_class: dummy`.
TEST(Z2jhMode, DummyAuthenticatorOfTheChartDefaultsIsRead) {
  auto v = kValues440.substr(0, kValues440.find("  extraConfig:\n")) +
           kValues440.substr(kValues440.find("  loadRoles: {}\n"));
  v = replaced(v, "      authenticator_class: dummy\n",
               "      authenticator_class: dummy\n    DummyAuthenticator:\n      password: chart-pw\n");
  Pod pod(v);
  auto l = pod.load();
  ASSERT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  ASSERT_EQ(l.hub.auth.providers.size(), 1u);
  EXPECT_EQ(l.hub.auth.providers[0].kind, "dummy");
  EXPECT_EQ(l.hub.auth.providers[0].password.reveal(), "chart-pw");
}

TEST(Z2jhMode, NullAuthenticatorIsRead) {
  auto v = kValues440.substr(0, kValues440.find("  extraConfig:\n")) +
           kValues440.substr(kValues440.find("  loadRoles: {}\n"));
  Pod pod(replaced(v, "      authenticator_class: dummy\n", "      authenticator_class: \"null\"\n"));
  auto l = pod.load();
  ASSERT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  EXPECT_EQ(l.hub.auth.providers.at(0).kind, "null");
  // Unquoted, YAML reads null as no value at all: the error says how to write it.
  Pod bare(replaced(v, "      authenticator_class: dummy\n", "      authenticator_class: null\n"));
  auto b = bare.load();
  EXPECT_THAT(errors(b), Contains(HasSubstr("write \"null\" in quotes")));
}

TEST(Z2jhMode, MissingValuesFileIsAClearError) {
  Pod pod(kValues440);
  fs::remove(fs::path(pod.config()).parent_path() / "secret" / "values.yaml");
  auto l = pod.load();
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(errors(l), Contains(HasSubstr("cannot read the chart's values")));
}

TEST(JupyterhubCli, AcceptsTheChartsArgsAndDropsTraitFlags) {
  char const* argv[] = {"/usr/local/bin/jupyterhub", "--config", "/x/jupyterhub_config.py",
                        "--upgrade-db", "--debug", "--JupyterHub.log_level=DEBUG",
                        "--Spawner.cmd", "foo"};
  auto cli = parse_cli(8, argv);
  ASSERT_TRUE(cli) << cli.error().message;
  EXPECT_TRUE(cli->jupyterhub_mode);
  EXPECT_TRUE(cli->upgrade_db);
  EXPECT_TRUE(cli->debug);
  EXPECT_EQ(cli->config_file, "/x/jupyterhub_config.py");
  ASSERT_EQ(cli->warnings.size(), 2u);
  EXPECT_THAT(cli->warnings[0], HasSubstr("--JupyterHub.log_level"));
  EXPECT_THAT(cli->warnings[1], HasSubstr("--Spawner.cmd"));
  EXPECT_EQ(cli->action, CliInvocation::Action::run);

  char const* version[] = {"jupyterhub", "--version"};
  auto v = parse_cli(2, version);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->action, CliInvocation::Action::version);
  EXPECT_TRUE(v->jupyterhub_mode);

  char const* nbhub[] = {"nbhub", "--JupyterHub.port=1"};
  EXPECT_FALSE(parse_cli(2, nbhub));  // nbhub itself still refuses them
}

TEST(Z2jhMode, RedirectToServerFromHubValues) {
  EXPECT_TRUE(Pod(kValues440).load().hub.redirect_to_server);  // the chart leaves it unset
  Pod pod(replaced(kValues440, "  baseUrl: /\n", "  baseUrl: /\n  redirectToServer: false\n"));
  auto l = pod.load();
  ASSERT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  EXPECT_FALSE(l.hub.redirect_to_server);
}

}  // namespace
}  // namespace nbhub::config

namespace nbhub::config {
namespace {

// Issue 21: hub.services with a command are kept whole (command, environment, url...), so
// the hub runs them as JupyterHub does; the token comes from the chart's secret.
TEST(Z2jhMode, ServicesWithACommandKeepTheirLaunchFields) {
  Pod pod(replaced(kValues440, "  services: {}\n",
                   "  services:\n"
                   "    dash:\n"
                   "      command: [\"/usr/bin/dash-service\", \"--port\", \"9000\"]\n"
                   "      url: http://127.0.0.1:9000\n"
                   "      environment:\n"
                   "        MODE: prod\n"
                   "      oauth_no_confirm: true\n"));
  pod.write("secret/hub.services.dash.apiToken", "dash-token-0123456789\n");
  auto l = pod.load();
  ASSERT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  auto const& s = l.hub.services_json;
  EXPECT_THAT(s, HasSubstr(R"("command":["/usr/bin/dash-service","--port","9000"])"));
  EXPECT_THAT(s, HasSubstr(R"("environment":{"MODE":"prod"})"));
  EXPECT_THAT(s, HasSubstr(R"("name":"dash")"));
  EXPECT_THAT(s, HasSubstr(R"("api_token":"dash-token-0123456789")"));
}

}  // namespace
}  // namespace nbhub::config

namespace nbhub::config {
namespace {

// Issue 23 item 6: hub.namedServerLimitPerUser has a home (spawner.named_server_limit_per_user).
TEST(Z2jhMode, NamedServerLimitPerUserIsRead) {
  Pod pod(replaced(kValues440, "  allowNamedServers: false\n",
                   "  allowNamedServers: true\n  namedServerLimitPerUser: 4\n"));
  auto l = pod.load();
  ASSERT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  EXPECT_TRUE(l.hub.spawner_settings.allow_named_servers);
  EXPECT_EQ(l.hub.spawner_settings.named_server_limit_per_user, 4u);
  for (auto const& m : messages(l)) EXPECT_THAT(m, ::testing::Not(HasSubstr("named_server_limit_per_user")));
}

}  // namespace
}  // namespace nbhub::config
