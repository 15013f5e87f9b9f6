#pragma once
// Parses an upstream's HTTP/1.x response for relaying. The head is written into a HeadBuffer
// as it is parsed, status line in the client's HTTP version and hop-by-hop fields left out
// (RFC 9110 §7.6.1), so no field is stored or allocated; body bytes go into a caller buffer,
// chunked framing removed (RFC 9112 §7), so that the relay can frame them for its client.
//
// Written here rather than on Beast's basic_parser, which the proxy used before: Beast looks
// every field name up in its table, re-parses the token lists of the fields it knows and
// reports each field through a virtual call, and that was a third of the proxy's user time
// per small response (6.6k of 19.5k instructions). This parser finds the end of the head
// first and then reads the fields it must act on; the rules enforced are the ones a relay
// needs: a well-formed status line and field lines, CRLF line ends, no obs-fold, one
// Content-Length value and not together with Transfer-Encoding, valid chunk framing, and the
// head and chunk-line limits. Errors are Beast's http::error codes, which the relay already
// maps (502 before the response started).
//
// Usage: construct per response (not reusable). Feed it the bytes at hand with `put` until
// `is_header_done`; the caller then appends its own fields (framing, Connection) and the
// blank line. For the body, `output` a buffer and `put` again; `put_eof` when the upstream
// closed. `put` returns the bytes it consumed; the rest must be offered again with more.
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/head_writer.hpp"

namespace nbhub::proxy {

class UpstreamResponseParser {
 public:
  // `client_version` (10 or 11) goes on the status line. With `keep_upgrade`, Upgrade is kept
  // and "Connection: Upgrade" written (a WebSocket handshake being relayed).
  // With `drop_request_id` the upstream's X-Request-Id is left out: the relay writes the
  // hub's own (append_request_id).
  UpstreamResponseParser(HeadBuffer& head, unsigned client_version, bool keep_upgrade, bool drop_request_id = false)
      : head_(head), version_(client_version), keep_upgrade_(keep_upgrade), drop_request_id_(drop_request_id) {}

  void header_limit(std::size_t n) noexcept { header_limit_ = n; }
  // The response to a HEAD request: it has no body whatever its fields say.
  void skip(bool v) noexcept { skip_body_ = v; }

  // Parses what it can of `in`. ec: need_more when the head or body needs more bytes,
  // need_buffer when the output buffer is full, or a parse error.
  std::size_t put(boost::asio::const_buffer in, boost::system::error_code& ec);
  // The upstream closed: completes a body delimited by the close, else partial_message.
  void put_eof(boost::system::error_code& ec);

  bool got_some() const noexcept { return got_some_; }
  bool is_header_done() const noexcept { return state_ != State::head; }
  bool is_done() const noexcept { return state_ == State::done; }
  unsigned status() const noexcept { return status_; }
  bool keep_alive() const noexcept { return keep_alive_; }
  bool chunked() const noexcept { return chunked_; }
  std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }
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
  enum class State { head, length, until_close, chunk_size, chunk_ext, chunk_size_lf, chunk_data, chunk_data_cr,
                     chunk_data_lf, trailer, done };
  std::size_t parse_head(char const* p, std::size_t n, boost::system::error_code& ec);
  bool field(std::string_view name, std::string_view value, boost::system::error_code& ec);
  void drop_connection_named();
  std::size_t parse_chunked(char const* p, std::size_t n, boost::system::error_code& ec);
  std::size_t copy_out(char const* p, std::size_t n) noexcept;

  HeadBuffer& head_;
  unsigned version_;
  bool keep_upgrade_;
  bool drop_request_id_;
  std::size_t header_limit_ = 8192;
  bool skip_body_ = false;

  State state_ = State::head;
  bool got_some_ = false;
  std::size_t scanned_ = 0;  // head bytes already searched for the blank line
  unsigned status_ = 0;
  int upstream_version_ = 11;
  bool keep_alive_ = false;
  bool close_ = false, keep_alive_token_ = false;
  bool chunked_ = false;
  bool has_transfer_encoding_ = false;
  bool other_codings_ = false;
  std::optional<std::uint64_t> content_length_;
  std::vector<std::string> connection_named_;  // fields Connection names beyond the usual tokens

  std::uint64_t remaining_ = 0;  // of a Content-Length body or of the current chunk
  std::size_t line_bytes_ = 0;   // of the chunk-size line or trailer section, bounded
  bool trailer_line_empty_ = true;

  char* out_ = nullptr;
  std::size_t room_ = 0;
  std::size_t used_ = 0;
};

}  // namespace nbhub::proxy
