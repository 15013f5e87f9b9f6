#pragma once
// Kubernetes object names and label values for users' servers, as KubeSpawner 7 makes them
// (kubespawner/slugs.py and KubeSpawner._expand_user_properties; spec kubernetes.md §2.4),
// so pods and claims made by KubeSpawner are found again under the same names:
//
//  * "safe" scheme (KubeSpawner 7's default): a name that is already a valid object name of
//    at most 48 characters without "--" is used as it is; any other becomes
//    <lower-cased, runs of other characters as '-'>---<sha256[:8]>. {user_server} is
//    "<user>--<server>" for a named server, or a multi-slug with one hash when too long.
//  * "escape" scheme (KubeSpawner < 7, z2jh < 4): bytes outside [a-z0-9] become "-XX" (hex,
//    lower case). Claims of chart 1.2.0 are named claim-{username}{servername}.
#include <string>
#include <optional>
#include <string_view>
#include <vector>

namespace nbhub::spawn::kube {

// kubespawner.slugs: valid DNS-1123 label starting with a letter (object names).
bool is_valid_object_name(std::string_view s);
// Label values: empty, or <= 63 of [A-Za-z0-9._-] beginning and ending alphanumeric.
bool is_valid_label(std::string_view s);

// kubespawner.slugs.safe_slug(name, max_length=...): `name` when it is a valid object name
// without "--" (and no longer than max_length, if given), else strip_and_hash within
// max_length (32 when not given). KubeSpawner names use max_length 48.
std::string safe_slug(std::string_view name, std::optional<std::size_t> max_length = std::nullopt);
std::string safe_label(std::string_view name);  // safe_slug with the label rules, <= 63
// <a>--<b>---<sha256(a \xff b)[:8]>, each part cut to fit max_length.
std::string multi_slug(std::vector<std::string_view> const& names, std::size_t max_length = 48);
// The legacy escapism scheme: [a-z0-9] kept, every other byte "-xx".
std::string escape_slug(std::string_view name);

enum class SlugScheme { safe, escape };

// The fields a name template may use: {username}, {servername}, {user_server},
// {unescaped_username}, {unescaped_servername}, {escaped_username}, {escaped_servername},
// {safe_username}, {safe_servername}, {pod_name}, {pvc_name}, {namespace}, {hubnamespace}.
struct NameFields {
  std::string user;         // raw JupyterHub names
  std::string server;
  std::string namespace_;   // the user's namespace
  std::string pod_name;     // filled in once known (for pvc and volume templates)
  std::string pvc_name;
};

// Expands `tmpl` with the fields of `f` under `scheme`. Unknown {fields} stay as written, so
// a typo shows up in the object name and in the API server's 422 instead of vanishing.
std::string expand_name(std::string_view tmpl, NameFields const& f, SlugScheme scheme);

}  // namespace nbhub::spawn::kube
