// kubeconfig files as kubectl writes them, read for the Kubernetes spawner's API access.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "core/crypto.hpp"
#include "spawn/kube_kubeconfig.hpp"

namespace nbhub::spawn::kube {
namespace {

class Kubeconfig : public ::testing::Test {
 protected:
  Kubeconfig() : dir_(std::filesystem::temp_directory_path() / ("kubeconfig-test-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir_);
  }
  ~Kubeconfig() override { std::filesystem::remove_all(dir_); }
  std::string write(std::string const& text) {
    auto p = (dir_ / "config").string();
    std::ofstream(p) << text;
    return p;
  }
  std::filesystem::path dir_;
};

TEST_F(Kubeconfig, CurrentContextGivesServerTokenCaAndNamespace) {
  auto path = write(R"(apiVersion: v1
kind: Config
current-context: fake
clusters:
- name: fake
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: )" + crypto::base64_encode("-----BEGIN CERTIFICATE-----\n") + R"(
users:
- name: hub
  user:
    tokenFile: token
contexts:
- name: fake
  context:
    cluster: fake
    user: hub
    namespace: jhub
)");
  auto k = read_kubeconfig(path, "", (dir_ / "ca").string());
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(k->api.url, "https://127.0.0.1:6443");
  EXPECT_EQ(k->api.token_file, (dir_ / "token").string());  // relative to the file
  EXPECT_EQ(k->namespace_, "jhub");
  std::ifstream ca(k->api.ca_file);
  std::string first;
  std::getline(ca, first);
  EXPECT_EQ(first, "-----BEGIN CERTIFICATE-----");
}

TEST_F(Kubeconfig, ClientCertificatesAreRefusedWithAdvice) {
  auto path = write(R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k:6443"}}]
users: [{name: u, user: {client-certificate: a.crt, client-key: a.key}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)");
  auto k = read_kubeconfig(path, "", (dir_ / "ca").string());
  ASSERT_FALSE(k);
  EXPECT_NE(k.error().message.find("bearer tokens only"), std::string::npos) << k.error().message;
}

TEST_F(Kubeconfig, MissingContextAndBadYamlSayWhere) {
  auto path = write("current-context: nowhere\ncontexts: []\n");
  auto k = read_kubeconfig(path, "", (dir_ / "ca").string());
  ASSERT_FALSE(k);
  EXPECT_NE(k.error().message.find("no context \"nowhere\""), std::string::npos);
  auto bad = write("clusters: [\n");
  auto b = read_kubeconfig(bad, "", (dir_ / "ca").string());
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("not valid YAML"), std::string::npos) << b.error().message;
}

}  // namespace
}  // namespace nbhub::spawn::kube
