#include "proxy/forwarded_headers.hpp"

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <array>

namespace nbhub::proxy {

namespace beast = boost::beast;

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The raw path with its first `segments` segments removed ("/user/alice/lab?x", 2 -> "/lab?x").
std::string_view strip_segments(std::string_view target, std::size_t segments) {
  std::size_t i = 0;
  for (std::size_t seen = 0; seen < segments; ++seen) {
    auto next = target.find_first_of("/?", i + 1);
    if (next == std::string_view::npos || target[next] == '?') {
      i = next == std::string_view::npos ? target.size() : next;
      break;
    }
    i = next;
  }
  return target.substr(i);
}

}  // namespace

std::string_view decoded_path(std::string_view target, std::string& scratch) {
  auto path = target.substr(0, target.find('?'));
  if (path.find('%') == std::string_view::npos) return path;
  scratch.clear();
  scratch.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    int hi, lo;
    if (path[i] == '%' && i + 2 < path.size() && (hi = hex_value(path[i + 1])) >= 0 &&
        (lo = hex_value(path[i + 2])) >= 0) {
      scratch.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      scratch.push_back(path[i]);  // a stray '%' stays as it is, as decodeURIComponent would not
    }
  }
  return scratch;
}

void strip_hop_by_hop(bhttp::fields& f, bool keep_upgrade) {
  // Fields named by Connection are hop-by-hop too (RFC 9110 §7.6.1).
  auto conn = f.find(bhttp::field::connection);
  if (conn != f.end()) {
    std::array<std::string, 8> named;  // a bounded copy: erasing invalidates the value's view
    std::size_t n = 0;
    for (auto token : bhttp::token_list(conn->value())) {
      if (n == named.size()) break;
      named[n++] = std::string(token);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (keep_upgrade && beast::iequals(named[i], "upgrade")) continue;
      f.erase(named[i]);
    }
    f.erase(bhttp::field::connection);
  }
  f.erase(bhttp::field::proxy_connection);
  f.erase(bhttp::field::keep_alive);
  f.erase(bhttp::field::te);
  if (keep_upgrade) {
    f.set(bhttp::field::connection, "Upgrade");
  } else {
    f.erase(bhttp::field::upgrade);
  }
}

void write_upstream_request(bhttp::request_header<>& req, Route const& route, ProxyConfig const& cfg,
                            http::ClientView const& client, std::string_view peer_ip, bool websocket,
                            HeadBuffer& out) {
  out += req.method_string();
  out += ' ';
  auto const& target = route.target();
  std::string_view original = req.target();
  if (cfg.prepend_path) out += target.path;
  if (!cfg.include_prefix && !route.is_default()) {
    auto segments = static_cast<std::size_t>(std::count(route.prefix().begin(), route.prefix().end(), '/'));
    auto rest = strip_segments(original, segments);
    if (rest.empty() || rest.front() == '?') out += '/';
    out += rest;
  } else {
    out += original;
  }
  out += req.version() == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n";

  strip_hop_by_hop(req, websocket);
  req.erase(bhttp::field::expect);
  std::string_view xff;
  if (cfg.x_forward) {
    req.erase("X-Forwarded-Proto");
    req.erase("X-Forwarded-Host");
    req.erase("X-Forwarded-Port");
    // Written last, after the other fields: the existing value's storage stays valid until
    // then because nothing is erased or inserted after this point.
    xff = req["X-Forwarded-For"];
  }
  for (auto const& [name, value] : cfg.custom_headers) req.erase(name);
  for (auto const& field : req) {
    if (cfg.x_forward && beast::iequals(field.name_string(), "X-Forwarded-For")) continue;
    out += field.name_string();
    out += ": ";
    out += field.value();
    out += "\r\n";
  }
  if (cfg.x_forward) {
    out += "X-Forwarded-For: ";
    if (!xff.empty()) {
      out += xff;
      out += ", ";
    }
    out += peer_ip;
    out += client.secure ? "\r\nX-Forwarded-Proto: https\r\n" : "\r\nX-Forwarded-Proto: http\r\n";
    if (!client.host.empty()) {
      out += "X-Forwarded-Host: ";
      out += client.host;
      out += "\r\n";
    }
    // The port the browser used: from Host when it names one (not inside IPv6 brackets).
    std::string_view host = client.host;
    auto colon = host.rfind(':');
    out += "X-Forwarded-Port: ";
    if (colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos) {
      out += host.substr(colon + 1);
    } else {
      out += client.secure ? "443" : "80";
    }
    out += "\r\n";
  }
  for (auto const& [name, value] : cfg.custom_headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "\r\n";
}

bool wants_json(bhttp::request_header<> const& req) {
  std::string_view target = req.target();
  auto path = target.substr(0, target.find('?'));
  if (path.find("/api/") != std::string_view::npos || path.ends_with("/api")) return true;
  std::string_view accept = req[bhttp::field::accept];
  return accept.find("application/json") != std::string_view::npos &&
         accept.find("text/html") == std::string_view::npos;
}

}  // namespace nbhub::proxy
