// Responses come from user servers, which users control: the proxy's response parser never
// crashes or reads out of bounds, writes no more body than its output buffer holds, and gives
// the same head and body whether the bytes arrive at once or split where the input says.
#include <boost/beast/http/error.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/upstream_response_parser.hpp"

namespace {

struct Out {
  std::string head, body;
  bool failed = false, done = false;
};

Out run(std::string_view bytes, std::size_t cut, std::size_t out_size) {
  namespace bhttp = boost::beast::http;
  std::vector<char> scratch(1024);
  nbhub::proxy::HeadBuffer head(scratch.data(), scratch.size());
  nbhub::proxy::UpstreamResponseParser p(head, 11, bytes.size() % 2 == 0);
  p.header_limit(4096);
  std::vector<char> out(out_size);
  std::string pending;
  Out r;
  for (auto piece : {bytes.substr(0, cut), bytes.substr(cut)}) {
    pending += piece;
    for (;;) {
      if (p.is_header_done()) p.output(out.data(), out.size());
      boost::system::error_code ec;
      auto used = p.put(boost::asio::buffer(pending), ec);
      if (used > pending.size()) std::abort();
      pending.erase(0, used);
      if (p.is_header_done()) {
        if (p.used() > out.size()) std::abort();
        r.body.append(out.data(), p.used());
      }
      if (ec == bhttp::error::need_buffer || (!ec && !p.is_done() && !pending.empty() && used != 0)) continue;
      if (ec && ec != bhttp::error::need_more) r.failed = true;
      break;
    }
    if (r.failed) return r;
  }
  boost::system::error_code ec;
  p.put_eof(ec);
  r.done = p.is_done();
  r.head = std::string(head.view());
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t out_size = 1 + data[0] % 64;
  std::string_view bytes(reinterpret_cast<char const*>(data) + 1, size - 1);
  auto whole = run(bytes, bytes.size(), out_size);
  auto split = run(bytes, data[0] % bytes.size(), 1 + out_size / 2);
  if (whole.failed != split.failed) std::abort();
  if (!whole.failed && (whole.head != split.head || whole.body != split.body || whole.done != split.done))
    std::abort();
  return 0;
}
