#include "spawn/kube_names.hpp"

#include <fmt/format.h>

#include "core/crypto.hpp"

namespace nbhub::spawn::kube {

namespace {

constexpr std::size_t kHashLength = 8;

bool lower(char c) { return c >= 'a' && c <= 'z'; }
bool digit(char c) { return c >= '0' && c <= '9'; }
bool lower_alnum(char c) { return lower(c) || digit(c); }
bool alnum(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

std::string hex_prefix(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto digest = crypto::sha256(data);
  std::string out;
  for (unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
    if (out.size() >= kHashLength) break;
  }
  return out.substr(0, kHashLength);
}

// _extract_safe_name: lower case, runs of anything but [a-z0-9] as one '-', '-' stripped from
// both ends, starting with a letter ("x-" prefixed otherwise), never empty. Bytes, not code
// points: a non-ASCII character is a run of non-[a-z0-9] bytes either way.
std::string extract_safe_name(std::string_view name, std::size_t max_length) {
  std::string s;
  for (char c : name) {
    char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower_alnum(l)) {
      s += l;
    } else if (s.empty() || s.back() != '-') {
      s += '-';
    }
  }
  auto first = s.find_first_not_of('-');
  s = first == std::string::npos ? std::string() : s.substr(first);
  if (s.size() > max_length) s.resize(max_length);
  while (!s.empty() && s.back() == '-') s.pop_back();
  if (!s.empty() && !lower(s.front())) s = "x-" + s.substr(0, max_length >= 2 ? max_length - 2 : 0);
  if (s.empty()) s = "x";
  return s;
}

std::string strip_and_hash(std::string_view name, std::size_t max_length) {
  std::size_t name_length = max_length > kHashLength + 3 ? max_length - (kHashLength + 3) : 1;
  return extract_safe_name(name, name_length) + "---" + hex_prefix(name);
}

}  // namespace

bool is_valid_object_name(std::string_view s) {
  if (s.empty() || s.size() > 63 || !lower(s.front()) || !lower_alnum(s.back())) return false;
  for (char c : s)
    if (!lower_alnum(c) && c != '-') return false;
  return true;
}

bool is_valid_label(std::string_view s) {
  if (s.empty()) return true;
  if (s.size() > 63 || !alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s)
    if (!alnum(c) && c != '.' && c != '-' && c != '_') return false;
  return true;
}

std::string safe_slug(std::string_view name, std::optional<std::size_t> max_length) {
  if (name.find("--") == std::string_view::npos && is_valid_object_name(name) &&
      (!max_length || name.size() <= *max_length))
    return std::string(name);
  return strip_and_hash(name, max_length.value_or(32));
}

std::string safe_label(std::string_view name) {
  // safe_slug(name, is_valid=is_valid_label): no length cap beyond the label's own 63, and
  // the hashed form fits 32 characters.
  if (name.find("--") == std::string_view::npos && is_valid_label(name)) return std::string(name);
  return strip_and_hash(name, 32);
}

std::string multi_slug(std::vector<std::string_view> const& names, std::size_t max_length) {
  std::string hashed;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) hashed += '\xff';  // never a UTF-8 start byte: parts cannot run into each other
    hashed += names[i];
  }
  std::size_t per_name = (max_length - (kHashLength + 1)) / (names.empty() ? 1 : names.size());
  std::size_t name_max = per_name > 4 ? per_name - 2 : 2;
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) out += "--";
    out += extract_safe_name(names[i], name_max);
  }
  return out + "---" + hex_prefix(hashed);
}

std::string escape_slug(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    if (lower_alnum(static_cast<char>(c)))
      out += static_cast<char>(c);
    else
      out += fmt::format("-{:x}", c);  // escapism writes '%X' (no zero padding), then lower()
  }
  return out;
}

std::string expand_name(std::string_view tmpl, NameFields const& f, SlugScheme scheme) {
  constexpr std::size_t kSlugMax = 48;  // KubeSpawner's _slug_max_length
  auto safe_user = safe_slug(f.user, kSlugMax);
  auto safe_server = f.server.empty() ? std::string() : safe_slug(f.server, kSlugMax);
  std::string safe_user_server;
  if (safe_user.size() + safe_server.size() + 2 > kSlugMax)
    safe_user_server = multi_slug({f.user, f.server}, kSlugMax);
  else
    safe_user_server = f.server.empty() ? safe_user : safe_user + "--" + safe_server;
  auto esc_user = escape_slug(f.user);
  auto esc_server = escape_slug(f.server);
  auto esc_user_server = f.server.empty() ? esc_user : esc_user + "--" + esc_server;
  bool safe = scheme == SlugScheme::safe;

  auto field = [&](std::string_view name) -> std::optional<std::string> {
    if (name == "username") return safe ? safe_user : esc_user;
    if (name == "servername") return safe ? safe_server : esc_server;
    if (name == "user_server") return safe ? safe_user_server : esc_user_server;
    if (name == "unescaped_username") return f.user;
    if (name == "unescaped_servername") return f.server;
    if (name == "safe_username") return safe_user;
    if (name == "safe_servername") return safe_server;
    if (name == "safe_user_server") return safe_user_server;
    if (name == "escaped_username") return esc_user;
    if (name == "escaped_servername") return esc_server;
    if (name == "escaped_user_server") return esc_user + "--" + esc_server;
    if (name == "namespace" || name == "hubnamespace") return f.namespace_;
    if (name == "pod_name") return f.pod_name;
    if (name == "pvc_name") return f.pvc_name;
    return std::nullopt;
  };
  std::string out;
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '{') {
      auto close = tmpl.find('}', i);
      if (close != std::string_view::npos) {
        if (auto v = field(tmpl.substr(i + 1, close - i - 1))) {
          out += *v;
          i = close;
          continue;
        }
      }
    }
    out += tmpl[i];
  }
  // KubeSpawner strips a '-' the expansion left at the end (an empty {servername} in the old
  // 'jupyter-{username}--{servername}' template), never one the template itself ends with.
  if (!tmpl.ends_with('-'))
    while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

}  // namespace nbhub::spawn::kube
