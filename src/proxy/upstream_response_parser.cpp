#include "proxy/upstream_response_parser.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include <algorithm>
#include <cstring>

namespace nbhub::proxy {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

void UpstreamResponseParser::on_request_impl(bhttp::verb, boost::beast::string_view,
                                             boost::beast::string_view, int, beast::error_code& ec) {
  ec = bhttp::error::bad_version;  // a response parser never sees a request line
}

void UpstreamResponseParser::on_response_impl(int code, boost::beast::string_view reason, int,
                                              beast::error_code&) {
  status_ = static_cast<unsigned>(code);
  head_.clear();  // an interim response that came before is dropped
  head_ += version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  char digits[4] = {static_cast<char>('0' + code / 100 % 10), static_cast<char>('0' + code / 10 % 10),
                    static_cast<char>('0' + code % 10), ' '};
  head_ += std::string_view(digits, 4);
  if (reason.empty()) {
    head_ += bhttp::obsolete_reason(bhttp::int_to_status(static_cast<unsigned>(code)));
  } else {
    head_ += reason;
  }
  head_ += "\r\n";
  connection_named_.clear();
  other_codings_ = false;
}

void UpstreamResponseParser::on_field_impl(bhttp::field name, boost::beast::string_view name_string,
                                           boost::beast::string_view value, beast::error_code&) {
  using bhttp::field;
  switch (name) {
    case field::connection:
      for (auto token : bhttp::token_list(value)) {
        if (beast::iequals(token, "close") || beast::iequals(token, "keep-alive") ||
            beast::iequals(token, "upgrade"))
          continue;
        connection_named_.emplace_back(token);
      }
      return;
    case field::keep_alive:
    case field::proxy_connection:
    case field::te:
      return;
    case field::upgrade:
      if (!keep_upgrade_ || status_ != 101) return;
      break;
    case field::transfer_encoding:
      // Plain "chunked" is re-applied by the caller as the client's version allows; other
      // codings (gzip) are end-to-end and stay.
      if (beast::iequals(value, "chunked")) return;
      other_codings_ = true;
      break;
    default:
      break;
  }
  head_ += name_string;
  head_ += ": ";
  head_ += value;
  head_ += "\r\n";
}

void UpstreamResponseParser::on_header_impl(beast::error_code&) {
  if (keep_upgrade_ && status_ == 101) head_ += "Connection: Upgrade\r\n";
  if (connection_named_.empty()) return;
  // Rare: Connection named fields of its own. Drop those lines from what was written.
  std::string kept;
  std::string_view all = head_.view();
  std::size_t pos = 0;
  while (pos < all.size()) {
    auto end = all.find("\r\n", pos);
    end = end == boost::beast::string_view::npos ? all.size() : end + 2;
    std::string_view line = all.substr(pos, end - pos);
    auto colon = line.find(':');
    bool drop = pos != 0 && colon != boost::beast::string_view::npos &&
                std::any_of(connection_named_.begin(), connection_named_.end(),
                            [&](std::string const& n) { return beast::iequals(n, line.substr(0, colon)); });
    if (!drop) kept += line;
    pos = end;
  }
  head_.clear();
  head_ += kept;
}

std::size_t UpstreamResponseParser::on_body_impl(boost::beast::string_view body, beast::error_code& ec) {
  auto n = std::min(body.size(), room_);
  if (n != 0) std::memcpy(out_ + used_, body.data(), n);
  used_ += n;
  room_ -= n;
  if (n < body.size()) ec = bhttp::error::need_buffer;  // full: the caller writes it out first
  return n;
}

std::size_t UpstreamResponseParser::on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                                       beast::error_code& ec) {
  return on_body_impl(body, ec);
}

}  // namespace nbhub::proxy
