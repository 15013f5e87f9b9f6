// Request bodies, chunked or with a length, as the listener reads them on both of its paths:
// the hub's own routes read the whole body into a string (a parser moved from the head parser,
// bounded by http.body_limit_bytes), and proxied requests stream it through a fixed buffer and
// re-frame each piece for the upstream (proxy/relay.cpp with head_writer's Framer; a
// Content-Length body is taken raw, up to the parser's content_length_remaining()). Bytes
// arrive in pieces, as reads do. Nothing may crash; the hub's path never takes more than its
// limit; and the two paths agree: what the proxy sends upstream, parsed again, is the body the
// hub's path read.
//
// Input: byte 0 = how the bytes arrive (1..32 per read) and whether a chunked request head is
// put in front (so most runs fuzz the chunked coding itself), byte 1 = the proxy's buffer size
// (1..256), then the request bytes.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http/body_limit.hpp"
#include "proxy/head_writer.hpp"

namespace bhttp = boost::beast::http;
using HeadParser = bhttp::request_parser<bhttp::empty_body>;  // http/interceptor.hpp
using RequestParser = bhttp::request_parser<bhttp::buffer_body>;  // proxy/relay.hpp

namespace {

// http.body_limit_bytes, small enough that inputs under -max_len=8192 reach it.
constexpr std::size_t kBodyLimit = 4 * 1024;

// Feeds `in` from `at` to the parser in pieces of `piece` bytes until `done(parser)`, an error,
// or the end of the input (then put_eof). Returns the error; `at` moves past what was used.
template <class Parser, class Done, class Drain>
boost::system::error_code feed(Parser& p, std::string_view in, std::size_t& at, std::string& pending,
                               std::size_t piece, Done done, Drain drain) {
  boost::system::error_code ec;
  // Bounded: every round either takes input, drains the proxy's buffer or ends.
  for (int rounds = 0; rounds < 1'000'000; ++rounds) {
    if (done(p)) return {};
    if (pending.empty() || ec == bhttp::error::need_more) {
      if (at >= in.size()) {
        p.put_eof(ec);
        drain(p);
        return ec;
      }
      pending.append(in.substr(at, piece));
      at += std::min(piece, in.size() - at);
    }
    ec = {};
    auto used = p.put(boost::asio::buffer(pending), ec);
    pending.erase(0, used);
    if (ec == bhttp::error::need_buffer) {
      ec = {};
      drain(p);
      continue;
    }
    if (ec && ec != bhttp::error::need_more) return ec;
    drain(p);
  }
  std::abort();  // a parser that neither takes input nor ends
}

struct Head {
  std::optional<HeadParser> parser;
  std::size_t at = 0;
  std::string pending;
};

// Beast's parsers cannot be moved: `h` is filled in place.
void read_head(Head& h, std::string_view in, std::size_t piece) {
  h.parser.emplace();
  h.parser->header_limit(8 * 1024);
  h.parser->body_limit(boost::none);  // as the listener: the proxy streams any size
  auto ec = feed(*h.parser, in, h.at, h.pending, piece, [](auto& p) { return p.is_header_done(); },
                 [](auto&) {});
  if (ec || !h.parser->is_header_done()) h.parser.reset();
}

// The hub's path: the whole body, bounded.
std::optional<std::string> hub_body(std::string_view in, std::size_t piece) {
  Head h;
  read_head(h, in, piece);
  if (!h.parser) return std::nullopt;
  bhttp::request_parser<bhttp::string_body> p(std::move(*h.parser));
  boost::system::error_code ec;
  nbhub::http::limit_body(p, kBodyLimit, ec);
  if (ec) return std::nullopt;
  ec = feed(p, in, h.at, h.pending, piece, [](auto& q) { return q.is_done(); }, [](auto&) {});
  if (ec || !p.is_done()) return std::nullopt;
  return p.release().body();
}

// The proxy's path: pieces of at most `buffer` bytes, framed as the request came. Returns the
// bytes written upstream after the head and whether the request was complete, or nothing.
struct Relayed {
  std::string framed;
  std::string body;  // the pieces themselves, unframed
  bool chunked = false;
};

std::optional<Relayed> proxy_body(std::string_view in, std::size_t piece, std::size_t buffer) {
  Head h;
  read_head(h, in, piece);
  if (!h.parser) return std::nullopt;
  RequestParser req(std::move(*h.parser));
  Relayed out;
  out.chunked = req.chunked();
  nbhub::proxy::Framer framer(req.chunked());
  std::string chunk(buffer, '\0');
  auto& body = req.get().body();
  body.data = chunk.data();
  body.size = buffer;
  bool ended = req.is_done();
  auto drain = [&](RequestParser& p) {
    if (ended) return;
    auto const n = buffer - body.size;
    if (n == 0 && !p.is_done()) return;  // only framing was parsed (a chunk header)
    for (auto const& b : framer.frame({}, chunk.data(), n, p.is_done()))
      out.framed.append(static_cast<char const*>(b.data()), b.size());
    out.body.append(chunk.data(), n);
    ended = p.is_done();
    body.data = chunk.data();
    body.size = buffer;
  };
  if (req.is_done()) return out;  // no body: the relay sends the head alone
  if (!req.chunked()) {
    // A Content-Length body bypasses the parser in the relay: its bytes already read go
    // upstream as they are, the rest is read raw, at most `buffer` per read, up to
    // content_length_remaining(); a close before that is a cut request.
    auto left = req.content_length_remaining().value_or(0);
    while (left != 0) {
      std::string_view piece_now;
      if (!h.pending.empty()) {
        piece_now = std::string_view(h.pending).substr(0, left);
      } else {
        if (h.at >= in.size()) return std::nullopt;
        piece_now = in.substr(h.at, std::min<std::uint64_t>({buffer, left, piece}));
      }
      for (auto const& b : framer.frame({}, piece_now.data(), piece_now.size(), false))
        out.framed.append(static_cast<char const*>(b.data()), b.size());
      out.body.append(piece_now);
      left -= piece_now.size();
      if (!h.pending.empty())
        h.pending.erase(0, piece_now.size());
      else
        h.at += piece_now.size();
    }
    return out;
  }
  auto ec = feed(req, in, h.at, h.pending, piece, [](auto& q) { return q.is_done(); }, drain);
  if (ec || !req.is_done()) return std::nullopt;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t const piece = 1 + (data[0] & 31);
  bool const with_head = data[0] & 32;
  std::size_t const buffer = 1 + data[1];
  std::string in;
  if (with_head) in = "POST /user/alice/api/contents/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  in.append(reinterpret_cast<char const*>(data) + 2, size - 2);

  auto const hub = hub_body(in, piece);
  auto const relayed = proxy_body(in, piece, buffer);
  if (!relayed) return 0;

  // What the upstream receives is a well-formed body with the same bytes.
  std::string again;
  if (relayed->chunked) {
    std::string upstream = "POST / HTTP/1.1\r\nHost: u\r\nTransfer-Encoding: chunked\r\n\r\n" + relayed->framed;
    bhttp::request_parser<bhttp::string_body> p;
    p.body_limit(boost::none);
    p.eager(true);
    boost::system::error_code ec;
    auto used = p.put(boost::asio::buffer(upstream), ec);
    if (ec || !p.is_done() || used != upstream.size()) std::abort();
    again = p.release().body();
  } else {
    again = relayed->framed;
  }
  if (again != relayed->body) std::abort();
  // Both paths read the same body when both accept it (the hub's is bounded, the proxy's not).
  if (hub && *hub != relayed->body) std::abort();
  if (hub && hub->size() > kBodyLimit) std::abort();  // http.body_limit_bytes holds
  if (!hub && relayed->body.size() <= kBodyLimit / 2 && !relayed->chunked) {
    // A length-delimited body small enough for the hub's limit that the proxy accepted was
    // refused by the hub's path: the two disagree about the request.
    std::abort();
  }
  return 0;
}
