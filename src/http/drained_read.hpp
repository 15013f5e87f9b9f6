#pragma once
// Telling Asio's epoll reactor that a socket's receive queue is empty, the way nginx does.
//
// After every read that returned data, Asio's reactor tries the next read on that socket
// at once ("speculative" read) before it waits for epoll. On a proxied WebSocket the next
// message is almost never there yet, so that try is a recv() failing with EAGAIN: a third
// of the proxy's system calls per message. nginx instead marks a socket "not ready" after
// a read that returned less than it asked for, and waits for the next edge-triggered
// epoll event. Asio has that state (`try_speculative_`) but no public way to set it; this
// sets it.
//
// Why it is sound, and when: Asio registers sockets edge-triggered, so any byte that
// arrives after a recv() raises a new epoll event. That event is turned into work queued
// behind the completion of the read that did the recv(), and it sets the flag again (or
// performs the read waiting by then). So clearing the flag *inside that read's completion
// handler* loses nothing, provided the handler really runs before any later event of the
// socket is processed: one thread runs the io_context (Asio's reactor built without
// per-socket locks, BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO) and the handler is not queued
// again on a strand. `drained_reads_sound` checks exactly that for an executor; clearing at
// any other time (e.g. before a later read) could drop an event seen meanwhile, so callers
// must call mark_read_drained only from the completion of a short read.
//
// It reaches into Asio's epoll reactor, so it is only compiled for the Boost releases whose
// reactor was read for this (1.81, Debian 12's); elsewhere both functions do nothing and
// reads stay speculative (correct, one recv() more).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace nbhub::http {

// Whether mark_read_drained may be used for sockets whose completions run on `ex`: the
// io_context's own executor (no strand) of an io_context run by one thread with unlocked
// reactor I/O. False wherever the reactor in use is not the one this was written for.
bool drained_reads_sound(boost::asio::any_io_executor const& ex);

// From the completion handler of a read on `s` that returned fewer bytes than it asked for:
// the next async read on `s` waits for epoll instead of trying recv() first. Only where
// drained_reads_sound(s.get_executor()).
void mark_read_drained(boost::asio::ip::tcp::socket& s) noexcept;

}  // namespace nbhub::http
