#include "proxy/tunnel_loop.hpp"

#include <boost/system/system_error.hpp>

#include <cerrno>

namespace nbhub::proxy {

namespace net = boost::asio;
using boost::system::error_code;

net::execution_context::id TunnelLoop::id;

namespace {

int new_epoll() {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw boost::system::system_error(errno, boost::system::system_category(), "epoll_create1");
  return fd;
}

}  // namespace

TunnelLoop::TunnelLoop(net::io_context& ioc)
    : net::execution_context::service(ioc), epoll_(ioc, new_epoll()) {}

TunnelLoop::~TunnelLoop() = default;

void TunnelLoop::shutdown() {
  error_code ignored;
  epoll_.close(ignored);
}

void TunnelLoop::add(int fd, Endpoint& e) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &e;
  if (::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_ADD, fd, &ev) != 0)
    throw boost::system::system_error(errno, boost::system::system_category(), "epoll_ctl add");
  ++registered_;
  if (!waiting_) arm();
}

void TunnelLoop::remove(int fd, Endpoint& e) noexcept {
  if (!epoll_.is_open()) return;  // the io_context is shutting down: the descriptor is gone
  epoll_event unused{};
  if (::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_DEL, fd, &unused) == 0) --registered_;
  for (int i = 0; i < batch_size_; ++i)
    if (batch_[i].data.ptr == &e) batch_[i].data.ptr = nullptr;
}

void TunnelLoop::arm() {
  // Asio re-arms the descriptor for each wait (EPOLL_CTL_MOD), which re-reads the inner
  // epoll's ready list: a wake-up that came while the batch was delivered is not lost.
  waiting_ = true;
  epoll_.async_wait(net::posix::descriptor_base::wait_read, [this](error_code ec) {
    waiting_ = false;
    if (ec) return;  // closed at shutdown
    deliver();
    if (registered_ != 0) arm();
  });
}

void TunnelLoop::deliver() {
  int n = ::epoll_wait(epoll_.native_handle(), batch_.data(), kBatch, 0);
  batch_size_ = n > 0 ? n : 0;
  for (int i = 0; i < batch_size_; ++i) {
    // An endpoint's handler may remove (and free) endpoints later in the batch: remove()
    // clears their entries.
    if (auto* e = static_cast<Endpoint*>(batch_[i].data.ptr)) e->on_ready(batch_[i].events);
  }
  batch_size_ = 0;
}

}  // namespace nbhub::proxy
