// Beast-free parts of the client: response header lookup, the encodings OAuth requests need
// (client.hpp), and checking a request before it is sent (client_impl.hpp).
#include "http/client.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <iterator>

#include "core/crypto.hpp"
#include "http/client_impl.hpp"

namespace nbhub::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// WHATWG URL §5.2 "application/x-www-form-urlencoded percent-encode set": everything but
// ASCII alphanumerics and `*-._`; space becomes '+'. RFC 6749 Appendix B uses the same.
void form_escape(std::string_view in, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : in) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '*' || c == '-' || c == '.' || c == '_';
    if (keep) {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
}

// RFC 9110 §5.6.2 token: methods and header names.
bool is_token(std::string_view s) {
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kExtra.find(c) != std::string_view::npos;
  });
}

}  // namespace

std::string ClientResponse::header(std::string_view name) const {
  for (auto const& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

boost::asio::awaitable<Result<ClientResponse>> HttpClient::stream(ClientRequest req,
                                                                  ChunkHandler on_chunk,
                                                                  StreamOptions opts) {
  auto r = co_await send(std::move(req));
  if (!r) co_return r;
  if (r->status / 100 == 2 && !(opts.cancel && opts.cancel->cancelled())) {
    on_chunk(r->body);
    r->body.clear();
  }
  co_return r;
}

std::string form_encode(std::vector<std::pair<std::string, std::string>> const& fields) {
  std::string out;
  for (auto const& [k, v] : fields) {
    if (!out.empty()) out += '&';
    form_escape(k, out);
    out += '=';
    form_escape(v, out);
  }
  return out;
}

std::string basic_auth_header(std::string_view client_id, std::string_view client_secret) {
  std::string joined;
  form_escape(client_id, joined);
  joined += ':';
  form_escape(client_secret, joined);
  return "Basic " + crypto::base64_encode(joined);
}

namespace detail {

Result<PreparedRequest> prepare_request(ClientRequest r,
                                        std::chrono::milliseconds default_timeout) {
  namespace urls = boost::urls;
  PreparedRequest p;
  p.method = std::move(r.method);
  if (!is_token(p.method)) return Error{Errc::bad_request, "invalid HTTP method"};
  // Never echo the raw URL: its query or userinfo may carry a secret.
  auto u = urls::parse_uri(r.url);  // a fragment is allowed, and not sent
  if (!u)
    return Error{Errc::bad_request,
                 p.method + ": not an absolute URL (" + u.error().message() + ")"};
  p.host_header = u->encoded_host_and_port();
  p.shown = std::string(u->scheme()) + "://" + p.host_header + std::string(u->encoded_path());
  auto bad = [&](std::string what) {
    return Error{Errc::bad_request, p.method + " " + p.shown + ": " + what};
  };
  p.tls = u->scheme_id() == urls::scheme::https;
  if (!p.tls && u->scheme_id() != urls::scheme::http)
    return bad("unsupported scheme; use http or https");
  if (!u->has_authority() || u->encoded_host().empty()) return bad("the URL has no host");
  // Credentials in a URL end up in logs; callers send an Authorization header instead.
  if (u->has_userinfo()) return bad("credentials in the URL are not supported");
  if (u->host_type() == urls::host_type::ipvfuture) return bad("unsupported host");
  p.host = u->host_address();
  if (u->host_type() == urls::host_type::name)
    std::transform(p.host.begin(), p.host.end(), p.host.begin(), [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
  p.port = u->has_port() && !u->port().empty() ? std::string(u->port()) : (p.tls ? "443" : "80");
  p.pool_key = std::string(p.tls ? "https" : "http") + "://" + p.host + ":" + p.port;
  if (!r.unix_socket.empty()) {
    if (p.tls) return bad("https over a unix socket is not supported");
    p.unix_socket = std::move(r.unix_socket);
    p.pool_key = "unix:" + p.unix_socket;
  }
  p.target = u->encoded_path().empty() ? "/" : std::string(u->encoded_path());
  if (u->has_query()) p.target += "?" + std::string(u->encoded_query());

  static constexpr std::string_view kIdempotent[] = {"GET",    "HEAD",    "PUT",
                                                     "DELETE", "OPTIONS", "TRACE"};
  p.idempotent =
      std::find(std::begin(kIdempotent), std::end(kIdempotent), p.method) != std::end(kIdempotent);
  p.timeout = r.timeout.value_or(default_timeout);
  for (std::size_t i = 0; i < r.headers.size(); ++i) {
    auto& [name, value] = r.headers[i];
    // Refuse header injection; the value is never echoed (it may be a credential).
    if (!is_token(name) || value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
      return bad("request header #" + std::to_string(i + 1) + " is malformed");
    // We frame the body ourselves and never decode a compressed response.
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
        iequals(name, "accept-encoding"))
      continue;
    p.headers.emplace_back(std::move(name), std::move(value));
  }
  p.body = std::move(r.body);
  return p;
}

}  // namespace detail

}  // namespace nbhub::http
