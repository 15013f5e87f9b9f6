#include "proxy/head_writer.hpp"

#include <charconv>
#include <cstring>

namespace nbhub::proxy {

namespace net = boost::asio;

HeadBuffer& HeadBuffer::operator+=(std::string_view s) {
  if (!spilled_ && size_ + s.size() <= capacity_) {
    std::memcpy(scratch_ + size_, s.data(), s.size());
    size_ += s.size();
    return *this;
  }
  if (!spilled_) {
    heap_.reserve(2 * (size_ + s.size()));
    heap_.append(scratch_, size_);
    spilled_ = true;
  }
  heap_ += s;
  return *this;
}

void write_fields(bhttp::fields const& f, HeadBuffer& out) {
  for (auto const& field : f) {
    out += field.name_string();
    out += ": ";
    out += field.value();
    out += "\r\n";
  }
}

void write_status_and_fields(bhttp::response_header<> const& h, HeadBuffer& out) {
  out += h.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  auto status = h.result_int();
  char code[4] = {static_cast<char>('0' + status / 100 % 10), static_cast<char>('0' + status / 10 % 10),
                  static_cast<char>('0' + status % 10), ' '};
  out += std::string_view(code, 4);
  auto reason = h.reason();
  out += reason.empty() ? bhttp::obsolete_reason(h.result()) : reason;
  out += "\r\n";
  write_fields(h, out);
}

std::array<net::const_buffer, 5> const& Framer::frame(std::string_view head, char const* data,
                                                      std::size_t n, bool last) {
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

}  // namespace nbhub::proxy
