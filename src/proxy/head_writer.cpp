#include "proxy/head_writer.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace nbhub::proxy {

namespace net = boost::asio;

HeadBuffer& HeadBuffer::append_slow(std::string_view s) {
  if (!spilled_) {
    heap_.reserve(2 * (size_ + s.size()));
    heap_.append(scratch_, size_);
    spilled_ = true;
  }
  heap_ += s;
  return *this;
}

Buffers const& Framer::frame(std::string_view head, char const* data, std::size_t n, bool last) {
  static constexpr std::string_view kCrlf = "\r\n";
  static constexpr std::string_view kEnd = "0\r\n\r\n";
  bufs_.fill(net::const_buffer());
  bufs_[0] = net::buffer(head);
  if (!chunked_) {
    bufs_[2] = net::buffer(data, n);
    return bufs_;
  }
  if (n > 0) {
    auto [end, ec] = std::to_chars(size_line_, size_line_ + 16, n, 16);
    *end++ = '\r';
    *end++ = '\n';
    bufs_[1] = net::buffer(size_line_, static_cast<std::size_t>(end - size_line_));
    bufs_[2] = net::buffer(data, n);
    bufs_[3] = net::buffer(kCrlf);
  }
  if (last) bufs_[4] = net::buffer(kEnd);
  return bufs_;
}

std::size_t total_size(Buffers const& bufs) {
  std::size_t n = 0;
  for (auto const& b : bufs) n += b.size();
  return n;
}

std::size_t send_now(int fd, Buffers const& bufs, boost::system::error_code& ec) {
  iovec iov[5];
  int count = 0;
  for (auto const& b : bufs) {
    if (b.size() == 0) continue;
    iov[count].iov_base = const_cast<void*>(b.data());
    iov[count].iov_len = b.size();
    ++count;
  }
  if (count == 0) return 0;
  ssize_t n;
  if (count == 1) {
    // Most sends (every tunnel message, most body chunks): send() skips sendmsg()'s copy
    // and check of a msghdr and an iovec array in the kernel.
    n = ::send(fd, iov[0].iov_base, iov[0].iov_len, MSG_DONTWAIT | MSG_NOSIGNAL);
  } else {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<decltype(msg.msg_iovlen)>(count);
    n = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  if (n >= 0) return static_cast<std::size_t>(n);
  if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
    ec = boost::system::error_code(errno, boost::system::system_category());
  return 0;
}

Buffers suffix(Buffers const& bufs, std::size_t n) {
  Buffers out;
  for (std::size_t i = 0; i < bufs.size(); ++i) {
    auto b = bufs[i];
    auto skip = std::min(n, b.size());
    n -= skip;
    out[i] = b + skip;
  }
  return out;
}

}  // namespace nbhub::proxy
