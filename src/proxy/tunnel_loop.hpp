#pragma once
// The readiness loop that carries the WebSocket tunnels of a single-threaded proxy, the way
// nginx carries its upgraded connections.
//
// Why not Asio's reactor for these sockets: after every read that returned data, Asio tries
// the next read at once before it waits for epoll. On a tunnel the next message is almost
// never there yet, so every third system call per message was a recv() failing with EAGAIN,
// and each message also went through Asio's scheduler queue and operation objects. nginx
// instead stops reading after a short read and waits for the next edge-triggered event,
// unless that event said the peer closed (EPOLLRDHUP): the last bytes and the FIN can come
// in one event, and no later event would tell of the FIN. Asio registers sockets without
// EPOLLRDHUP, so that rule cannot be had through it (nbhub tried: a FIN went unseen).
//
// So the tunnels of one io_context share an epoll instance of their own, which Asio watches
// as one descriptor: Asio wakes the loop once per batch of ready sockets, and the loop calls
// each ready endpoint. Everything runs on the io_context's single thread (the proxy's
// --threads 1 / proxy.threads = 1): endpoint state needs no locks. It is an Asio service, so
// there is one per io_context and it lives as long as the io_context.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

#include <sys/epoll.h>

namespace nbhub::proxy {

class TunnelLoop : public boost::asio::execution_context::service {
 public:
  // The owner of a registered descriptor; told the epoll event bits when it is ready.
  class Endpoint {
   public:
    virtual void on_ready(std::uint32_t events) = 0;

   protected:
    ~Endpoint() = default;
  };

  static boost::asio::execution_context::id id;
  // Use through boost::asio::use_service<TunnelLoop>(io_context&).
  explicit TunnelLoop(boost::asio::io_context& ioc);
  ~TunnelLoop() override;

  // Watches `fd` for input, output and the peer's close, edge-triggered, until remove(fd).
  // `e` must outlive the registration. Throws boost::system::system_error.
  void add(int fd, Endpoint& e);
  // Stops watching `fd` (before it is closed); events already collected for `e` in the batch
  // being delivered are dropped, so `e` may be destroyed once this returns.
  void remove(int fd, Endpoint& e) noexcept;

 private:
  void shutdown() override;
  void arm();
  void deliver();

  static constexpr int kBatch = 64;  // events per epoll_wait; more wait for the next wake
  boost::asio::posix::stream_descriptor epoll_;
  std::array<epoll_event, kBatch> batch_{};
  int batch_size_ = 0;  // events of the batch being delivered
  std::size_t registered_ = 0;
  bool waiting_ = false;
};

}  // namespace nbhub::proxy
