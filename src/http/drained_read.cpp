#include "http/drained_read.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/version.hpp>

// The reactor this was read against: Boost 1.81's epoll reactor (detail/impl/epoll_reactor.ipp,
// descriptor_state::perform_io and epoll_reactor::start_op).
#if BOOST_VERSION / 100 == 1081 && defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT) && \
    !defined(BOOST_ASIO_DISABLE_EPOLL)
#define NBHUB_DRAINED_READS 1
#include <boost/asio/detail/epoll_reactor.hpp>
#include <boost/asio/detail/scheduler.hpp>
#endif

namespace nbhub::http {

namespace net = boost::asio;

#ifdef NBHUB_DRAINED_READS
namespace {

// Naming a private member in an explicit instantiation is allowed ([temp.spec]/6), and the
// friend function carries the member pointer out. Nothing here depends on member offsets:
// if Asio renames or retypes a member, this stops compiling.
template <class Tag, auto Member>
struct Expose {
  friend constexpr auto member(Tag) { return Member; }
};

struct SocketImplTag {
  friend constexpr auto member(SocketImplTag);
};
struct TrySpeculativeTag {
  friend constexpr auto member(TrySpeculativeTag);
};

using Socket = net::basic_socket<net::ip::tcp, net::any_io_executor>;
template struct Expose<SocketImplTag, &Socket::impl_>;
template struct Expose<TrySpeculativeTag, &net::detail::epoll_reactor::descriptor_state::try_speculative_>;

}  // namespace

bool drained_reads_sound(net::any_io_executor const& ex) {
  auto const* io = ex.target<net::io_context::executor_type>();
  if (!io) return false;  // a strand, or another executor: completions may be queued again
  int hint = net::use_service<net::detail::scheduler>(io->context()).concurrency_hint();
  return !BOOST_ASIO_CONCURRENCY_HINT_IS_LOCKING(REACTOR_IO, hint);
}

void mark_read_drained(net::ip::tcp::socket& s) noexcept {
  Socket& base = s;
  auto* state = (base.*member(SocketImplTag{})).get_implementation().reactor_data_;
  if (state) (state->*member(TrySpeculativeTag{}))[net::detail::epoll_reactor::read_op] = false;
}

#else

bool drained_reads_sound(net::any_io_executor const&) { return false; }
void mark_read_drained(net::ip::tcp::socket&) noexcept {}

#endif

}  // namespace nbhub::http
