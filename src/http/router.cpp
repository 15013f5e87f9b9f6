#include "http/router.hpp"

#include <algorithm>

namespace nbhub::http {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') { ++i; continue; }
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  // A trailing slash is significant for a few routes ("/hub/" vs "/hub"): keep it as "".
  if (!path.empty() && path.back() == '/' && !out.empty()) out.push_back("");
  return out;
}

void Router::add(bhttp::verb method, std::string pattern, Handler handler) {
  Route r{method, {}, false, std::move(handler), pattern};
  for (auto s : split_path(pattern)) r.segments.emplace_back(s);
  if (!r.segments.empty() && r.segments.back() == "*") {
    r.segments.pop_back();
    r.rest = true;
  }
  routes_.push_back(std::move(r));
  // Exact segments before captures, so /hub/api/users/{name} never shadows a literal route.
  std::stable_sort(routes_.begin(), routes_.end(), [](Route const& a, Route const& b) {
    auto literal = [](Route const& x) {
      return std::count_if(x.segments.begin(), x.segments.end(),
                           [](auto const& s) { return s.empty() || s.front() != '{'; }) -
             (x.rest ? 100 : 0);
    };
    return literal(a) > literal(b);
  });
}

bool Router::matches(Route const& r, std::vector<std::string_view> const& segs,
                     std::vector<std::string>& params) {
  if (r.rest ? segs.size() < r.segments.size() : segs.size() != r.segments.size()) return false;
  params.clear();
  for (std::size_t i = 0; i < r.segments.size(); ++i) {
    auto const& p = r.segments[i];
    if (!p.empty() && p.front() == '{') {
      if (segs[i].empty()) return false;
      params.emplace_back(segs[i]);
    } else if (p != segs[i]) {
      return false;
    }
  }
  if (r.rest) {
    std::string tail;
    for (std::size_t i = r.segments.size(); i < segs.size(); ++i) {
      if (i > r.segments.size()) tail += '/';
      tail += segs[i];
    }
    params.push_back(std::move(tail));
  }
  return true;
}

Router::Lookup Router::find(bhttp::verb method, std::string_view path) const {
  auto segs = split_path(path);
  Lookup out;
  std::vector<std::string> params;
  for (auto const& r : routes_) {
    if (!matches(r, segs, params)) continue;
    if (r.method == method || (method == bhttp::verb::head && r.method == bhttp::verb::get)) {
      out.match = Match::found;
      out.handler = &r.handler;
      out.pattern = r.pattern;
      out.params = std::move(params);
      return out;
    }
    out.match = Match::wrong_method;
    if (!out.allowed.empty()) out.allowed += ", ";
    out.allowed += std::string(bhttp::to_string(r.method));
  }
  return out;
}

}  // namespace nbhub::http
