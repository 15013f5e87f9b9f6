#include "store/pg_listener.hpp"

#include "store/libpq.hpp"
#include "store/postgres_connection.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

namespace nbhub::store {

namespace {

// libpq's functions; PgConnection::open has loaded them before the listener uses a connection.
pq::Api const& lib() { return pq::api(); }

bool plain_identifier(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

// SQLAlchemy spells the driver into the scheme (postgresql+psycopg2://); libpq does not.
std::string libpq_url(std::string const& url) {
  auto colon = url.find("://");
  if (colon == std::string::npos) return url;
  auto scheme = url.substr(0, colon);
  if (scheme.starts_with("postgresql+") || scheme.starts_with("postgres+")) return "postgresql" + url.substr(colon);
  return url;
}

std::string libpq_message(pg_conn* c) {
  std::string msg = c ? lib().errorMessage(c) : "";
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

}  // namespace

Result<std::unique_ptr<PgListener>> PgListener::start(Options options, OnNotify on_notify, OnResync on_resync,
                                                      OnTrouble on_trouble) {
  for (auto const& ch : options.channels)
    if (!plain_identifier(ch))
      return make_error(Errc::bad_request, "a LISTEN channel must be a plain identifier ([a-z0-9_], at most 63): '" + ch + "'");
  if (auto loaded = pq::load(); !loaded) return loaded.error();  // say so now, not in retries
  options.url = libpq_url(options.url);
  std::unique_ptr<PgListener> l(
      new PgListener(std::move(options), std::move(on_notify), std::move(on_resync), std::move(on_trouble)));
  l->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (l->wake_fd_ < 0) return make_error(Errc::unavailable, "eventfd failed for the PostgreSQL listener");
  l->thread_ = std::thread([p = l.get()] { p->run(); });
  return l;
}

PgListener::PgListener(Options options, OnNotify on_notify, OnResync on_resync, OnTrouble on_trouble)
    : options_(std::move(options)), display_(redact_postgres_url(options_.url)), on_notify_(std::move(on_notify)),
      on_resync_(std::move(on_resync)), on_trouble_(std::move(on_trouble)) {}

PgListener::~PgListener() {
  stop_ = true;
  if (wake_fd_ >= 0) {
    std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

bool PgListener::sleep_for(std::chrono::milliseconds d) {
  pollfd p{wake_fd_, POLLIN, 0};
  (void)::poll(&p, 1, static_cast<int>(d.count()));
  return !stop_;
}

void PgListener::run() {
  auto retry = options_.retry_min;
  auto trouble = [&](std::string const& m) {
    if (on_trouble_) on_trouble_(m);
  };
  while (!stop_) {
    auto conn = PgConnection::open({options_.url, display_, options_.connect_timeout});
    if (!conn) {
      trouble(conn.error().message + "; retrying in " + std::to_string(retry.count()) + " ms");
      if (!sleep_for(retry)) break;
      retry = std::min(retry * 2, options_.retry_max);
      continue;
    }
    bool ok = true;
    for (auto const& ch : options_.channels)
      if (auto r = (*conn)->exec("LISTEN " + ch); !r) {
        trouble("LISTEN " + ch + ": " + r.error().message);
        ok = false;
        break;
      }
    if (!ok) {
      if (!sleep_for(retry)) break;
      retry = std::min(retry * 2, options_.retry_max);
      continue;
    }
    retry = options_.retry_min;
    connected_ = true;
    ++connections_;
    if (on_resync_) on_resync_();  // notifications sent while we were away are lost

    pg_conn* c = (*conn)->raw();
    auto last_heard = std::chrono::steady_clock::now();
    while (!stop_) {
      // Hand out whatever arrived (also what came with the LISTEN replies).
      while (PGnotify* n = lib().notifies(c)) {
        ++notifications_;
        if (on_notify_) on_notify_(n->relname, n->extra ? n->extra : "");
        lib().freemem(n);
      }
      pollfd fds[2] = {{lib().socket(c), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      auto const idle = std::chrono::steady_clock::now() - last_heard;
      auto const wait = std::max<std::chrono::milliseconds>(
          std::chrono::milliseconds(1),
          options_.ping_every - std::chrono::duration_cast<std::chrono::milliseconds>(idle));
      int rc = ::poll(fds, 2, static_cast<int>(wait.count()));
      if (stop_) break;
      if (rc > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        if (!lib().consumeInput(c)) {
          trouble("lost the listening connection to PostgreSQL at " + display_ + " (" + libpq_message(c) + ")");
          break;
        }
        last_heard = std::chrono::steady_clock::now();
        continue;
      }
      if (rc == 0) {
        // Silence for ping_every: make sure the connection is still there (a cut network
        // sends no FIN). An empty query costs one round trip.
        if (auto r = (*conn)->exec("SELECT 1"); !r || (*conn)->broken()) {
          trouble("the listening connection to PostgreSQL at " + display_ + " stopped answering");
          break;
        }
        last_heard = std::chrono::steady_clock::now();
      }
    }
    connected_ = false;
    if (stop_) break;
    if (!sleep_for(retry)) break;
  }
  connected_ = false;
}

}  // namespace nbhub::store
