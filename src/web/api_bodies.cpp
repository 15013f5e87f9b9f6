#include "web/api_bodies.hpp"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <ctime>

#include "hub/scopes.hpp"

namespace nbhub::web {

namespace json = boost::json;

namespace {

Error bad(std::string message) { return Error{Errc::bad_request, std::move(message)}; }

}  // namespace

Result<json::value> parse_json_body(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::value(nullptr);
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec) return bad("Invalid JSON in body of request");
  return v;
}

std::optional<std::string> user_name_problem(std::string_view name) {
  if (name.empty()) return "a user name cannot be empty";
  if (name.size() > 255) return "a user name is at most 255 bytes";
  if (name.find('/') != std::string_view::npos) return fmt::format("Invalid username: {}", name);
  for (unsigned char ch : name)
    if (ch < 0x20 || ch == 0x7f) return "a user name cannot contain control characters";
  if (name.front() == ' ' || name.back() == ' ') return fmt::format("Invalid username: \"{}\"", name);
  return std::nullopt;
}

std::optional<std::string> group_name_problem(std::string_view name) {
  if (name.empty()) return "a group name cannot be empty";
  if (name.size() > 255) return "a group name is at most 255 bytes";
  if (name.find('/') != std::string_view::npos) return fmt::format("Invalid group name: {}", name);
  return std::nullopt;
}

Result<CreateUsersRequest> parse_create_users(json::value const& v) {
  auto const* o = v.if_object();
  auto const* list = o ? o->if_contains("usernames") : nullptr;
  if (!list || !list->is_array()) return bad("Must specify at least one user to create");
  CreateUsersRequest r;
  if (auto const* admin = o->if_contains("admin")) {
    if (!admin->is_bool()) return bad("admin must be true or false");
    r.admin = admin->as_bool();
  }
  for (auto const& n : list->as_array()) {
    if (!n.is_string()) return bad("usernames must be a list of strings");
    std::string name(n.as_string());
    if (auto p = user_name_problem(name)) return bad(*p);
    if (std::find(r.names.begin(), r.names.end(), name) == r.names.end()) r.names.push_back(std::move(name));
  }
  if (r.names.empty()) return bad("Must specify at least one user to create");
  return r;
}

Result<bool> parse_create_user(json::value const& v) {
  auto const* o = v.if_object();
  auto const* admin = o ? o->if_contains("admin") : nullptr;
  if (!admin) return false;
  if (!admin->is_bool()) return bad("admin must be true or false");
  return admin->as_bool();
}

Result<PatchUserRequest> parse_patch_user(json::value const& v) {
  if (!v.is_object()) return bad("The body must be a JSON object with name and/or admin");
  PatchUserRequest r;
  for (auto const& [k, val] : v.as_object()) {
    if (k == "name") {
      if (!val.is_string()) return bad("name must be a string");
      r.name = std::string(val.as_string());
      if (auto p = user_name_problem(*r.name)) return bad(*p);
    } else if (k == "admin") {
      if (!val.is_bool()) return bad("admin must be true or false");
      r.admin = val.as_bool();
    } else if (k == "groups" || k == "roles") {
      if (!val.is_array()) return bad(fmt::format("{} must be a list of strings", std::string_view(k)));
      for (auto const& x : val.as_array())
        if (!x.is_string()) return bad(fmt::format("{} must be a list of strings", std::string_view(k)));
    } else if (k == "auth_state") {
      return bad("auth_state cannot be set through the API in nbhub (it is written at login)");
    } else {
      return bad(fmt::format("Invalid user model: unknown field {}", std::string_view(k)));
    }
  }
  return r;
}

Result<std::vector<std::string>> parse_group_users(json::value const& v, bool required) {
  std::vector<std::string> out;
  auto const* o = v.if_object();
  auto const* u = o ? o->if_contains("users") : nullptr;
  if (!u) {
    if (required) return bad("Must specify users as a list of names");
    return out;
  }
  if (!u->is_array()) return bad("users must be a list of names");
  for (auto const& n : u->as_array()) {
    if (!n.is_string()) return bad("users must be a list of names");
    out.emplace_back(n.as_string());
  }
  return out;
}

Result<CreateGroupsRequest> parse_create_groups(json::value const& v) {
  auto const* o = v.if_object();
  auto const* list = o ? o->if_contains("groups") : nullptr;
  if (!list || !list->is_array()) return bad("Must specify at least one group to create");
  CreateGroupsRequest r;
  for (auto const& n : list->as_array()) {
    if (!n.is_string()) return bad("groups must be a list of names");
    if (auto p = group_name_problem(n.as_string())) return bad(*p);
    r.names.emplace_back(n.as_string());
  }
  if (r.names.empty()) return bad("Must specify at least one group to create");
  auto users = parse_group_users(v, false);
  if (!users) return users.error();
  r.users = std::move(*users);
  return r;
}

Result<TokenRequest> parse_token_request(json::value const& v) {
  if (!v.is_null() && !v.is_object()) return bad("The body must be a JSON object");
  TokenRequest r;
  if (v.is_null()) return r;
  auto const& o = v.as_object();
  if (auto const* e = o.if_contains("expires_in"); e && !e->is_null()) {
    std::int64_t secs = 0;
    if (e->is_int64()) secs = e->as_int64();
    else if (e->is_uint64()) secs = static_cast<std::int64_t>(std::min<std::uint64_t>(e->as_uint64(), INT64_MAX));
    else if (e->is_double() && e->as_double() >= 1 && e->as_double() < 1e12) secs = static_cast<std::int64_t>(e->as_double());
    else return bad("expires_in must be a number of seconds");
    if (secs <= 0) return bad("expires_in must be positive");
    if (secs > kMaxTokenExpiresIn)
      return bad(fmt::format("expires_in must be at most {} seconds (ten years)", kMaxTokenExpiresIn));
    r.expires_in_seconds = secs;
  }
  if (auto const* n = o.if_contains("note"); n && !n->is_null()) {
    if (!n->is_string()) return bad("note must be a string");
    r.note = std::string(n->as_string());
    if (r.note.size() > 1000) return bad("note is at most 1000 characters");
  }
  if (auto const* s = o.if_contains("scopes"); s && !s->is_null()) {
    r.asked = true;
    if (!s->is_array()) return bad("scopes must be a list of strings");
    for (auto const& x : s->as_array()) {
      if (!x.is_string()) return bad("scopes must be a list of strings");
      std::string scope(x.as_string());
      if (auto p = hub::scope_problem(scope)) return bad(fmt::format("Invalid scopes: {}", *p));
      r.scopes.push_back(std::move(scope));
    }
  }
  if (auto const* roles = o.if_contains("roles"); roles && !roles->is_null()) {
    // Deprecated since 3.0: the handler turns the roles into their scopes.
    r.asked = true;
    if (!roles->is_array()) return bad("roles must be a list of strings");
    for (auto const& x : roles->as_array()) {
      if (!x.is_string()) return bad("roles must be a list of strings");
      r.roles.emplace_back(x.as_string());
    }
  }
  return r;
}

std::variant<ServerBody, std::string> parse_server_body(std::string const& text) {
  ServerBody out;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return out;
  boost::system::error_code ec;
  auto body = json::parse(text, ec);
  if (ec) return std::string("Invalid JSON in body of request");
  if (body.is_null()) return out;
  if (!body.is_object()) return std::string("The request body must be a JSON object of user options.");
  auto& o = body.as_object();
  auto dn = o.find("display_name");
  auto uo = o.find("user_options");
  if (dn != o.end() && !dn->value().is_string()) return std::string("display_name must be a string");
  if (uo != o.end() && !uo->value().is_null() && !uo->value().is_object())
    return std::string("user_options must be an object or null");
  if (dn == o.end() && uo == o.end()) {
    out.has_options = !o.empty();
    out.options = std::move(o);
    return out;
  }
  out.v6 = true;
  if (dn != o.end()) out.display_name = std::string(dn->value().as_string());
  if (uo != o.end() && uo->value().is_object()) {
    out.options = std::move(uo->value().as_object());
    out.has_options = true;
  }
  return out;
}

std::optional<Clock::SysTime> parse_activity_time(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS, then an optional fraction; a zone suffix is read as UTC.
  auto num = [&](std::size_t at, std::size_t n, int& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, sec;
  if (s.size() < 19) return std::nullopt;
  if (!num(0, 4, y) || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' || !num(8, 2, d) || s[10] != 'T' ||
      !num(11, 2, h) || s[13] != ':' || !num(14, 2, mi) || s[16] != ':' || !num(17, 2, sec))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 61) return std::nullopt;
  // system_clock counts nanoseconds in 64 bits: 1677-2262. Outside that the conversion below
  // overflowed (UBSan, fuzz_api_bodies: "6024-..."); no activity is that far off anyway.
  if (y < 1900 || y > 2200) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  auto t = std::chrono::system_clock::from_time_t(timegm(&tm));
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    long long us = 0, scale = 100000;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      us += (s[i] - '0') * scale;
      scale /= 10;
    }
    t += std::chrono::microseconds(us);
  }
  return std::chrono::time_point_cast<Clock::SysTime::duration>(t);
}

Result<ActivityRequest> parse_activity(std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return bad("The body must be a JSON object.");
  auto const& o = v.as_object();
  if (!o.contains("last_activity") && !o.contains("servers")) return bad("The body needs last_activity or servers.");
  auto time_of = [](json::value const* x) -> std::optional<Clock::SysTime> {
    if (!x || !x->is_string()) return std::nullopt;
    return parse_activity_time(x->as_string());
  };
  ActivityRequest r;
  if (auto const* ts = o.if_contains("last_activity")) {
    r.user_last_activity = time_of(ts);
    if (!r.user_last_activity) return bad("last_activity is not an ISO 8601 timestamp.");
  }
  if (auto const* servers = o.if_contains("servers")) {
    if (!servers->is_object()) return bad("servers must be an object.");
    for (auto const& kv : servers->as_object()) {
      std::string name(kv.key());
      if (!kv.value().is_object()) return bad("Each server entry must be an object with last_activity.");
      auto ts = time_of(kv.value().as_object().if_contains("last_activity"));
      if (!ts) return bad(fmt::format("Server '{}': last_activity is not an ISO 8601 timestamp.", name));
      r.servers.emplace_back(std::move(name), *ts);
    }
  }
  return r;
}

}  // namespace nbhub::web
