#pragma once
// Parses an upstream's response for relaying. The head is written into a HeadBuffer as it is
// parsed, status line in the client's HTTP version and hop-by-hop fields left out (RFC 9110
// §7.6.1), so no field is stored or allocated; body bytes go into a caller buffer the way
// Beast's buffer_body does. Beast's basic_parser does the parsing and enforces the head limit.
//
// Usage: construct per response (a parser is not reusable), read the head with
// http::async_read_header, then the caller appends its own fields (framing, Connection) and
// the blank line; read the body with http::async_read_some after `output()`.
#include <boost/beast/core/string_type.hpp>
#include <boost/beast/http/basic_parser.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/head_writer.hpp"

namespace nbhub::proxy {

class UpstreamResponseParser final : public boost::beast::http::basic_parser<false> {
 public:
  // `client_version` (10 or 11) goes on the status line. With `keep_upgrade`, Upgrade is kept
  // and "Connection: Upgrade" written (a WebSocket handshake being relayed).
  UpstreamResponseParser(HeadBuffer& head, unsigned client_version, bool keep_upgrade)
      : head_(head), version_(client_version), keep_upgrade_(keep_upgrade) {}

  unsigned status() const noexcept { return status_; }
  // The upstream's Transfer-Encoding when it is more than "chunked" (e.g. "gzip, chunked"):
  // then it was written to the head as received.
  bool other_codings() const noexcept { return other_codings_; }

  // Where the next body bytes go; `used()` says how many arrived since.
  void output(char* data, std::size_t size) noexcept {
    out_ = data;
    room_ = size;
    used_ = 0;
  }
  std::size_t used() const noexcept { return used_; }

 private:
  void on_request_impl(boost::beast::http::verb, boost::beast::string_view, boost::beast::string_view, int,
                       boost::beast::error_code& ec) override;
  void on_response_impl(int code, boost::beast::string_view reason, int version,
                        boost::beast::error_code& ec) override;
  void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::beast::error_code& ec) override;
  void on_header_impl(boost::beast::error_code& ec) override;
  void on_body_init_impl(boost::optional<std::uint64_t> const&, boost::beast::error_code&) override {}
  std::size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, boost::beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                 boost::beast::error_code& ec) override;
  void on_finish_impl(boost::beast::error_code&) override {}

  HeadBuffer& head_;
  unsigned version_;
  bool keep_upgrade_;
  unsigned status_ = 0;
  bool other_codings_ = false;
  std::vector<std::string> connection_named_;  // fields Connection names beyond the usual tokens
  char* out_ = nullptr;
  std::size_t room_ = 0;
  std::size_t used_ = 0;
};

}  // namespace nbhub::proxy
