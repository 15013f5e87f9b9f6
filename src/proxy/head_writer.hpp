#pragma once
// Serialises message heads and frames bodies for the next hop. The proxy writes with plain
// gather writes instead of Beast's serializer: the serializer's buffer machinery cost more per
// request than the system calls around it. Heads are written into scratch memory that comes
// with the pooled body buffer, so a typical exchange allocates nothing for them.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/message.hpp>

#include <array>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace nbhub::proxy {

namespace bhttp = boost::beast::http;

// Appends into caller-provided memory and moves to the heap only when that is full (a head
// with very large cookies); there is no size limit here (the parsers enforce those).
class HeadBuffer {
 public:
  HeadBuffer(char* scratch, std::size_t capacity) : scratch_(scratch), capacity_(capacity) {}
  // Inline: a head is some forty small appends, and the call cost more than the copy.
  HeadBuffer& operator+=(std::string_view s) {
    if (!spilled_ && s.size() <= capacity_ - size_) [[likely]] {
      // An empty view may have a null data(): memcpy from null is undefined even for 0 bytes
      // (UBSan: forwarded_headers.cpp appends an absent X-Forwarded-Host so).
      if (!s.empty()) std::memcpy(scratch_ + size_, s.data(), s.size());
      size_ += s.size();
      return *this;
    }
    return append_slow(s);
  }
  HeadBuffer& operator+=(char c) {
    if (!spilled_ && size_ < capacity_) [[likely]] {
      scratch_[size_++] = c;
      return *this;
    }
    return append_slow(std::string_view(&c, 1));
  }
  std::string_view view() const noexcept {
    return spilled_ ? std::string_view(heap_) : std::string_view(scratch_, size_);
  }
  void clear() noexcept {
    size_ = 0;
    spilled_ = false;
    heap_.clear();
  }

 private:
  HeadBuffer& append_slow(std::string_view s);  // moves to the heap
  char* scratch_;
  std::size_t capacity_;
  std::size_t size_ = 0;
  bool spilled_ = false;
  std::string heap_;
};

// The hub's request id on a proxied response (docs/operations.md "Request ids"): one field,
// three appends into the head being written; nothing when `id` is empty (`nbhub proxy`).
inline void append_request_id(HeadBuffer& head, std::string_view id) {
  if (id.empty()) return;
  head += "X-Request-Id: ";
  head += id;
  head += "\r\n";
}

using Buffers = std::array<boost::asio::const_buffer, 5>;

// Up to one head, one body piece and the end of the body, as one gather write. With chunked
// framing (RFC 9112 §7.1) a piece becomes "<hex>\r\n<data>\r\n" and the end "0\r\n\r\n".
class Framer {
 public:
  explicit Framer(bool chunked) : chunked_(chunked) {}
  bool chunked() const noexcept { return chunked_; }
  // The buffers to write: `head` (may be empty), `n` bytes at `data`, and the terminator when
  // `last`. Valid until the next call.
  Buffers const& frame(std::string_view head, char const* data, std::size_t n, bool last);

 private:
  bool chunked_;
  char size_line_[20];
  Buffers bufs_;
};

// Writes as much of `bufs` as the socket takes right now (one non-blocking sendmsg) and
// returns how much that was. A write that completes here skips a round trip through the
// scheduler and the strand, which costs more than the system call on small messages; the
// caller writes the rest asynchronously. `ec` is set only for errors other than
// would-block. Must not be called while another write is pending on `fd`.
std::size_t send_now(int fd, Buffers const& bufs, boost::system::error_code& ec);
// `bufs` without its first `n` bytes.
Buffers suffix(Buffers const& bufs, std::size_t n);
std::size_t total_size(Buffers const& bufs);

}  // namespace nbhub::proxy
