#include "proxy/forwarded_headers.hpp"

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <array>

namespace nbhub::proxy {

namespace beast = boost::beast;

namespace {

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

// The port the browser used: from Host when it names one (not inside IPv6 brackets).
std::string_view port_of(std::string_view host, bool secure) {
  auto colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos) {
    auto port = host.substr(colon + 1);
    if (!port.empty() && std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return port;
  }
  return secure ? "443" : "80";
}

// The client's X-Forwarded-* fields, for ProxyConfig::Forwarded::appended. Views into the
// request's fields; a repeated field is joined with ", ", as node joins repeated headers.
struct PriorForwarded {
  struct Value {
    std::string_view first;
    std::string joined;  // only for a repeated field
    int count = 0;
    void add(std::string_view v) {
      if (count++ == 0) {
        first = v;
        return;
      }
      if (count == 2) joined = first;
      joined += ", ";
      joined += v;
    }
    std::string_view get() const noexcept { return count > 1 ? std::string_view(joined) : first; }
  };
  Value for_, port, proto, host;

  // Records `f` and returns true when it is one of the four.
  bool take(bhttp::fields::value_type const& f) {
    constexpr std::string_view kPrefix = "x-forwarded-";
    auto name = f.name_string();
    if (name.size() <= kPrefix.size() || !beast::iequals(name.substr(0, kPrefix.size()), kPrefix)) return false;
    auto rest = name.substr(kPrefix.size());
    Value* v = beast::iequals(rest, "for")     ? &for_
               : beast::iequals(rest, "port")  ? &port
               : beast::iequals(rest, "proto") ? &proto
               : beast::iequals(rest, "host")  ? &host
                                               : nullptr;
    if (!v) return false;
    v->add(f.value());
    return true;
  }
};

}  // namespace

std::string_view decoded_path(std::string_view target, std::string& scratch) {
  auto path = target.substr(0, target.find('?'));
  if (path.find('%') == std::string_view::npos) return path;
  percent_decode(path, scratch);  // a stray '%' stays, where decodeURIComponent would throw
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
  for (auto const& [name, value] : cfg.custom_headers) req.erase(name);
  // The listener's request id replaces whatever the client sent (it kept a trusted one).
  if (!client.request_id.empty()) req.erase("X-Request-Id");
  bool const appended = cfg.x_forward && cfg.forwarded == ProxyConfig::Forwarded::appended;
  // The views taken below (xff, prior) stay valid: nothing is erased or inserted after them.
  std::string_view xff;
  if (cfg.x_forward && !appended) {
    req.erase("X-Forwarded-Proto");
    req.erase("X-Forwarded-Host");
    req.erase("X-Forwarded-Port");
    xff = req["X-Forwarded-For"];
  }
  PriorForwarded prior;
  for (auto const& field : req) {
    if (appended) {
      if (prior.take(field)) continue;  // written below, with ours appended
    } else if (cfg.x_forward && beast::iequals(field.name_string(), "X-Forwarded-For")) {
      continue;
    }
    out += field.name_string();
    out += ": ";
    out += field.value();
    out += "\r\n";
  }
  if (appended) {
    std::string_view host = req[bhttp::field::host];
    auto add = [&out](std::string_view name, std::string_view before, std::string_view ours) {
      out += name;
      out += before;
      if (!before.empty()) out += ',';
      out += ours;
      out += "\r\n";
    };
    add("X-Forwarded-For: ", prior.for_.get(), peer_ip);
    add("X-Forwarded-Port: ", prior.port.get(), port_of(host, client.secure));
    add("X-Forwarded-Proto: ", prior.proto.get(),
        websocket ? (client.secure ? "wss" : "ws") : (client.secure ? "https" : "http"));
    if (!websocket) {
      auto fhost = prior.host.get();
      if (fhost.empty()) fhost = host;
      if (!fhost.empty()) add("X-Forwarded-Host: ", "", fhost);
    }
  } else if (cfg.x_forward) {
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
    out += "X-Forwarded-Port: ";
    out += port_of(client.host, client.secure);
    out += "\r\n";
  }
  if (!client.request_id.empty()) {
    out += "X-Request-Id: ";
    out += client.request_id;
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
