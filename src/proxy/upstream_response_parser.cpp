#include "proxy/upstream_response_parser.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace nbhub::proxy {

namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace {

// A chunk-size line with its extensions; longer ones are refused (Beast's limit too).
constexpr std::size_t kChunkLineLimit = 4096;

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

// `lower_b` is already lower case.
bool iequal(std::string_view a, std::string_view lower_b) noexcept {
  if (a.size() != lower_b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower_b[i]) return false;
  return true;
}

// Octet classes, looked up per byte of the head: a table beats comparisons here.
constexpr unsigned char kTchar = 1;  // RFC 9110 §5.6.2 tchar
constexpr unsigned char kText = 2;   // field-value and reason octets: VCHAR, obs-text, SP, HTAB
constexpr auto kClass = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alnum || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos)
      t[static_cast<std::size_t>(c)] |= kTchar;
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) t[static_cast<std::size_t>(c)] |= kText;
  }
  return t;
}();

bool is_text(unsigned char c) noexcept { return (kClass[c] & kText) != 0; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f(token) for each element of a comma-separated list (RFC 9110 §5.6.1), empty ones skipped.
template <class F>
void for_each_token(std::string_view list, F&& f) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto token = trim(list.substr(0, comma));
    if (!token.empty()) f(token);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::size_t UpstreamResponseParser::put(boost::asio::const_buffer in, error_code& ec) {
  ec = {};
  auto const* p = static_cast<char const*>(in.data());
  std::size_t n = in.size();
  if (n != 0) got_some_ = true;
  switch (state_) {
    case State::head:
      return parse_head(p, n, ec);
    case State::done:
      return 0;
    case State::length: {
      auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, std::min(n, room_)));
      copy_out(p, take);
      remaining_ -= take;
      if (remaining_ == 0) {
        state_ = State::done;
      } else {
        ec = take < n ? bhttp::error::need_buffer : bhttp::error::need_more;
      }
      return take;
    }
    case State::until_close: {
      auto take = std::min(n, room_);
      copy_out(p, take);
      ec = take < n ? bhttp::error::need_buffer : bhttp::error::need_more;
      return take;
    }
    default:
      return parse_chunked(p, n, ec);
  }
}

void UpstreamResponseParser::put_eof(error_code& ec) {
  ec = {};
  if (state_ == State::until_close) state_ = State::done;
  if (state_ != State::done) ec = bhttp::error::partial_message;
}

std::size_t UpstreamResponseParser::copy_out(char const* p, std::size_t n) noexcept {
  if (n != 0) std::memcpy(out_ + used_, p, n);
  used_ += n;
  room_ -= n;
  return n;
}

std::size_t UpstreamResponseParser::parse_head(char const* p, std::size_t n, error_code& ec) {
  // Nothing is consumed until the blank line is here; the search resumes where it stopped.
  std::string_view in(p, n);
  auto end = in.find("\r\n\r\n", scanned_ < 3 ? 0 : scanned_ - 3);
  if (end == std::string_view::npos) {
    scanned_ = n;
    ec = n > header_limit_ ? bhttp::error::header_limit : bhttp::error::need_more;
    return 0;
  }
  std::size_t const head_size = end + 4;
  if (head_size > header_limit_) {
    ec = bhttp::error::header_limit;
    return 0;
  }

  // status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ] CRLF (a missing last SP is tolerated)
  auto eol = in.find("\r\n");
  std::string_view line = in.substr(0, eol);
  if (line.size() < 12 || !line.starts_with("HTTP/1.") || (line[7] != '0' && line[7] != '1') || line[8] != ' ') {
    ec = bhttp::error::bad_version;
    return 0;
  }
  upstream_version_ = line[7] == '1' ? 11 : 10;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!digit(line[9]) || !digit(line[10]) || !digit(line[11]) || line[9] == '0' ||
      (line.size() > 12 && line[12] != ' ')) {
    ec = bhttp::error::bad_status;
    return 0;
  }
  status_ = static_cast<unsigned>((line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0'));
  std::string_view reason = line.size() > 13 ? line.substr(13) : std::string_view();
  if (!std::all_of(reason.begin(), reason.end(), [](char c) { return is_text(static_cast<unsigned char>(c)); })) {
    ec = bhttp::error::bad_reason;
    return 0;
  }
  head_.clear();
  head_ += version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  head_ += line.substr(9, 3);
  head_ += ' ';
  head_ += reason.empty() ? std::string_view(bhttp::obsolete_reason(bhttp::int_to_status(status_))) : reason;
  head_ += "\r\n";

  // field-line = field-name ":" OWS field-value OWS CRLF, checked in one pass per line
  auto const* u = reinterpret_cast<unsigned char const*>(p);
  std::size_t const fields_end = head_size - 2;  // the blank line's CRLF
  for (std::size_t pos = eol + 2; pos < fields_end;) {
    if (u[pos] == ' ' || u[pos] == '\t') {
      ec = bhttp::error::bad_value;  // obs-fold: refused (RFC 9112 §5.2)
      return 0;
    }
    std::size_t i = pos;
    while (kClass[u[i]] & kTchar) ++i;
    if (i == pos || u[i] != ':') {
      ec = bhttp::error::bad_field;
      return 0;
    }
    std::string_view name(p + pos, i - pos);
    std::size_t const value_start = ++i;
    while (u[i] != '\r' && (kClass[u[i]] & kText)) ++i;
    if (u[i] != '\r' || u[i + 1] != '\n') {  // a control octet, or a bare CR
      ec = bhttp::error::bad_value;
      return 0;
    }
    auto value = trim(std::string_view(p + value_start, i - value_start));
    pos = i + 2;
    if (!field(name, value, ec)) {
      if (ec) return 0;
      continue;  // a hop-by-hop field: not forwarded
    }
    head_ += name;
    head_ += ": ";
    head_ += value;
    head_ += "\r\n";
  }
  if (content_length_ && has_transfer_encoding_) {
    // Both framings at once is how responses get smuggled; a relay must not guess.
    ec = bhttp::error::bad_transfer_encoding;
    return 0;
  }
  keep_alive_ = upstream_version_ == 11 ? !close_ : keep_alive_token_ && !close_;
  if (keep_upgrade_ && status_ == 101) head_ += "Connection: Upgrade\r\n";
  if (!connection_named_.empty()) drop_connection_named();

  if (skip_body_ || status_ < 200 || status_ == 204 || status_ == 304) {
    state_ = State::done;
  } else if (chunked_) {
    state_ = State::chunk_size;
  } else if (content_length_) {
    remaining_ = *content_length_;
    state_ = remaining_ == 0 ? State::done : State::length;
  } else {
    state_ = State::until_close;  // also a Transfer-Encoding that does not end in chunked
  }
  return head_size;
}

bool UpstreamResponseParser::field(std::string_view name, std::string_view value, error_code& ec) {
  switch (name.size()) {
    case 2:  // TE
      return !iequal(name, "te");
    case 7:  // Upgrade: only on the 101 of an upgrade being relayed
      if (iequal(name, "upgrade")) return keep_upgrade_ && status_ == 101;
      return true;
    case 10:
      if (iequal(name, "connection")) {
        for_each_token(value, [&](std::string_view t) {
          if (iequal(t, "close")) {
            close_ = true;
          } else if (iequal(t, "keep-alive")) {
            keep_alive_token_ = true;
          } else if (!iequal(t, "upgrade")) {
            connection_named_.emplace_back(t);
          }
        });
        return false;
      }
      return !iequal(name, "keep-alive");
    case 12:
      return !(drop_request_id_ && iequal(name, "x-request-id"));
    case 14:
      if (iequal(name, "content-length")) {
        // A list of equal values is one value (RFC 9110 §8.6); anything else is refused.
        bool ok = true;
        for_each_token(value, [&](std::string_view t) {
          std::uint64_t v = 0;
          if (t.size() > 18) ok = false;
          for (char c : t) {
            if (c < '0' || c > '9') ok = false;
            v = v * 10 + static_cast<unsigned>(c - '0');
          }
          if (ok && content_length_ && *content_length_ != v) ok = false;
          if (ok) content_length_ = v;
        });
        if (!ok || !content_length_) ec = bhttp::error::bad_content_length;
        return ok;
      }
      return true;
    case 16:
      return !iequal(name, "proxy-connection");
    case 17:
      if (iequal(name, "transfer-encoding")) {
        has_transfer_encoding_ = true;
        // Only a final "chunked" frames the body; plain "chunked" is re-applied by the relay
        // as the client's version allows, other codings (gzip) are end-to-end and stay.
        std::string_view last;
        std::size_t count = 0;
        for_each_token(value, [&](std::string_view t) {
          last = t;
          ++count;
        });
        chunked_ = iequal(last, "chunked");
        if (chunked_ && count == 1 && !other_codings_) return false;
        other_codings_ = true;
        return true;
      }
      return true;
    default:
      return true;
  }
}

void UpstreamResponseParser::drop_connection_named() {
  // Rare: Connection named fields of its own. Drop those lines from what was written.
  std::string kept;
  std::string_view all = head_.view();
  std::size_t pos = 0;
  while (pos < all.size()) {
    auto end = all.find("\r\n", pos);
    end = end == std::string_view::npos ? all.size() : end + 2;
    std::string_view line = all.substr(pos, end - pos);
    auto colon = line.find(':');
    bool drop = pos != 0 && colon != std::string_view::npos &&
                std::any_of(connection_named_.begin(), connection_named_.end(), [&](std::string const& n) {
                  auto name = line.substr(0, colon);
                  return name.size() == n.size() &&
                         std::equal(name.begin(), name.end(), n.begin(), [](char a, char b) { return lower(a) == lower(b); });
                });
    if (!drop) kept += line;
    pos = end;
  }
  head_.clear();
  head_ += kept;
}

std::size_t UpstreamResponseParser::parse_chunked(char const* p, std::size_t n, error_code& ec) {
  std::size_t i = 0;
  while (i < n && state_ != State::done) {
    char const c = p[i];
    switch (state_) {
      case State::chunk_size: {
        int v = hex_value(c);
        if (line_bytes_ >= kChunkLineLimit) {
          ec = bhttp::error::bad_chunk;
          return i;
        }
        if (v >= 0) {
          if (remaining_ > (std::numeric_limits<std::uint64_t>::max() >> 4)) {
            ec = bhttp::error::bad_chunk;
            return i;
          }
          remaining_ = remaining_ * 16 + static_cast<unsigned>(v);
        } else if (line_bytes_ == 0) {
          ec = bhttp::error::bad_chunk;  // no digits
          return i;
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::chunk_ext;
        } else if (c == '\r') {
          state_ = State::chunk_size_lf;
        } else {
          ec = bhttp::error::bad_chunk;
          return i;
        }
        ++line_bytes_;
        ++i;
        break;
      }
      case State::chunk_ext:
        if (c == '\r') {
          state_ = State::chunk_size_lf;
        } else if (!is_text(static_cast<unsigned char>(c)) || ++line_bytes_ > kChunkLineLimit) {
          ec = bhttp::error::bad_chunk_extension;
          return i;
        }
        ++i;
        break;
      case State::chunk_size_lf:
        if (c != '\n') {
          ec = bhttp::error::bad_chunk;
          return i;
        }
        ++i;
        line_bytes_ = 0;
        state_ = remaining_ == 0 ? State::trailer : State::chunk_data;
        trailer_line_empty_ = true;
        break;
      case State::chunk_data: {
        if (room_ == 0) {
          ec = bhttp::error::need_buffer;
          return i;
        }
        auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, std::min(n - i, room_)));
        copy_out(p + i, take);
        remaining_ -= take;
        i += take;
        if (remaining_ == 0) state_ = State::chunk_data_cr;
        break;
      }
      case State::chunk_data_cr:
      case State::chunk_data_lf:
        if (c != (state_ == State::chunk_data_cr ? '\r' : '\n')) {
          ec = bhttp::error::bad_chunk;
          return i;
        }
        state_ = state_ == State::chunk_data_cr ? State::chunk_data_lf : State::chunk_size;
        ++i;
        break;
      case State::trailer:
        // Trailer fields are read and dropped: the relay ends its own framing with none.
        if (++line_bytes_ > header_limit_) {
          ec = bhttp::error::header_limit;
          return i;
        }
        if (c == '\n') {
          if (trailer_line_empty_) state_ = State::done;
          trailer_line_empty_ = true;
        } else if (c != '\r') {
          trailer_line_empty_ = false;
        }
        ++i;
        break;
      default:
        break;
    }
  }
  if (state_ != State::done) ec = bhttp::error::need_more;
  return i;
}

}  // namespace nbhub::proxy
