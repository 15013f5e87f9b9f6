#include "spawn/kube_kubeconfig.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "core/crypto.hpp"

namespace nbhub::spawn::kube {

namespace {

Error bad(std::string const& path, std::string const& what) {
  return make_error(Errc::config, fmt::format("kubeconfig {}: {}", path, what));
}

// The entry of `list` (clusters, users, contexts) called `name`, or an undefined node.
YAML::Node named(YAML::Node const& list, std::string const& name) {
  if (!list.IsSequence()) return YAML::Node(YAML::NodeType::Undefined);
  for (auto const& e : list)
    if (e["name"] && e["name"].as<std::string>("") == name) return e;
  return YAML::Node(YAML::NodeType::Undefined);
}

std::string text(YAML::Node const& n, char const* key) {
  return n && n[key] && n[key].IsScalar() ? n[key].as<std::string>("") : "";
}

// Relative file names in a kubeconfig are relative to the file itself, as kubectl reads them.
std::string resolve(std::string const& file, std::string const& kubeconfig) {
  if (file.empty() || file.front() == '/') return file;
  return (std::filesystem::path(kubeconfig).parent_path() / file).string();
}

}  // namespace

Result<KubeconfigAccess> read_kubeconfig(std::string const& path, std::string const& context,
                                         std::string const& ca_dir) {
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(path);
  } catch (YAML::BadFile const&) {
    return bad(path, "cannot be read");
  } catch (YAML::Exception const& e) {
    return bad(path, fmt::format("is not valid YAML (line {}): {}", e.mark.line + 1, e.msg));
  }
  auto ctx_name = context.empty() ? text(doc, "current-context") : context;
  if (ctx_name.empty()) return bad(path, "names no current-context");
  auto ctx = named(doc["contexts"], ctx_name);
  if (!ctx || !ctx["context"]) return bad(path, "has no context \"" + ctx_name + "\"");
  auto c = ctx["context"];
  auto cluster_name = text(c, "cluster");
  auto user_name = text(c, "user");
  auto cluster = named(doc["clusters"], cluster_name)["cluster"];
  if (!cluster) return bad(path, "context \"" + ctx_name + "\" names cluster \"" + cluster_name + "\", which is not there");

  KubeconfigAccess out;
  out.namespace_ = text(c, "namespace");
  out.api.url = text(cluster, "server");
  if (out.api.url.empty()) return bad(path, "cluster \"" + cluster_name + "\" has no server");
  while (out.api.url.size() > 1 && out.api.url.back() == '/') out.api.url.pop_back();
  if (auto skip = text(cluster, "insecure-skip-tls-verify"); skip == "true") out.api.verify_tls = false;
  if (auto ca = text(cluster, "certificate-authority"); !ca.empty()) out.api.ca_file = resolve(ca, path);
  if (auto data = text(cluster, "certificate-authority-data"); !data.empty()) {
    auto pem = crypto::base64_decode(data);
    if (!pem) return bad(path, "certificate-authority-data of cluster \"" + cluster_name + "\" is not base64");
    std::filesystem::create_directories(ca_dir);
    out.api.ca_file = (std::filesystem::path(ca_dir) / ("kube-ca-" + cluster_name + ".crt")).string();
    std::ofstream f(out.api.ca_file, std::ios::trunc);
    f << *pem;
    if (!f) return bad(path, "cannot write the cluster's CA to " + out.api.ca_file);
  }

  auto user = named(doc["users"], user_name)["user"];
  if (!user_name.empty() && !user)
    return bad(path, "context \"" + ctx_name + "\" names user \"" + user_name + "\", which is not there");
  if (user) {
    out.api.token = text(user, "token");
    if (auto tf = text(user, "tokenFile"); !tf.empty()) out.api.token_file = resolve(tf, path);
    if (user["client-certificate"] || user["client-certificate-data"] || user["exec"] || user["auth-provider"])
      if (out.api.token.empty() && out.api.token_file.empty())
        return bad(path, "user \"" + user_name +
                             "\" authenticates with a client certificate or a plug-in; nbhub sends bearer "
                             "tokens only: give it a service-account token (token or tokenFile)");
  }
  return out;
}

}  // namespace nbhub::spawn::kube
