#include "tls/certificate_files.hpp"

#include <boost/asio/strand.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace nbhub::tls {

namespace net = boost::asio;
namespace fs = std::filesystem;
using boost::system::error_code;

namespace {

Result<std::string> read_file(std::string const& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(Errc::config, fmt::format("{} {}: cannot read the file: {}", what, path,
                                                std::strerror(errno)));
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A digest of what was read, so that an unchanged pair is recognised without keeping a copy
// of the key.
std::string digest(CertificatePair const& p) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  auto* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, p.chain_pem.data(), p.chain_pem.size());
  EVP_DigestUpdate(ctx, "\0", 1);
  EVP_DigestUpdate(ctx, p.key_pem.data(), p.key_pem.size());
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  return std::string(reinterpret_cast<char*>(md), len);
}

// The directories whose changes can change what `file` reads: its own, and those of every
// symlink on the way to the real file (Kubernetes: tls.crt -> ..data/tls.crt, ..data -> a
// timestamped directory; certbot: live/x/cert.pem -> ../../archive/x/cert3.pem).
void directories_of(fs::path file, std::set<std::string>& out) {
  std::error_code ec;
  file = fs::absolute(file, ec);
  for (int hops = 0; hops < 16; ++hops) {
    out.insert(file.parent_path().string());
    if (!fs::is_symlink(file, ec)) break;
    auto target = fs::read_symlink(file, ec);
    if (ec) break;
    file = target.is_absolute() ? target : file.parent_path() / target;
  }
  auto real = fs::canonical(file, ec);
  if (!ec) out.insert(real.parent_path().string());
}

}  // namespace

Result<CertificatePair> read_pair(std::string const& cert_file, std::string const& key_file) {
  auto chain = read_file(cert_file, "ssl_cert");
  if (!chain) return chain.error();
  auto key = read_file(key_file, "ssl_key");
  if (!key) return key.error();
  return CertificatePair{std::move(*chain), std::move(*key)};
}

CertificateFiles::CertificateFiles(net::io_context& ioc, ServerTls& tls, CertificateFilesOptions opts,
                                   spdlog::logger& log)
    : ioc_(ioc),
      tls_(tls),
      opts_(std::move(opts)),
      log_(log),
      inotify_(net::make_strand(ioc)),
      settle_timer_(inotify_.get_executor()),
      interval_timer_(inotify_.get_executor()),
      signals_(inotify_.get_executor()) {}

CertificateFiles::~CertificateFiles() = default;

std::string CertificateFiles::source() const {
  return fmt::format("ssl_cert {} / ssl_key {}", opts_.cert_file, opts_.key_file);
}

Result<void> CertificateFiles::load() {
  auto pair = read_pair(opts_.cert_file, opts_.key_file);
  if (!pair) return pair.error();
  if (auto ok = tls_.install(*pair, source()); !ok) return ok.error();
  installed_ = digest(*pair);
  return {};
}

void CertificateFiles::start() {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd >= 0) {
    inotify_.assign(fd);
  } else {
    log_.warn("TLS: inotify is not available ({}); certificate files are checked every {} s and on SIGHUP",
              std::strerror(errno), std::chrono::duration_cast<std::chrono::seconds>(opts_.interval).count());
  }
  net::dispatch(inotify_.get_executor(), [self = shared_from_this()] {
    self->rewatch();
    self->read_events();
    self->tick();
    if (!self->opts_.sighup) return;
    // Its own signal_set: Asio delivers a signal to every set waiting for it, so the
    // configuration reload's SIGHUP handler, if any, runs as well.
    error_code ec;
    self->signals_.add(SIGHUP, ec);
    if (ec) self->log_.warn("TLS: cannot watch SIGHUP: {}", ec.message());
    else self->wait_signal();
  });
}

void CertificateFiles::stop() {
  net::dispatch(inotify_.get_executor(), [self = shared_from_this()] {
    self->stopped_ = true;
    error_code ignored;
    self->inotify_.close(ignored);
    self->settle_timer_.cancel();
    self->interval_timer_.cancel();
    self->signals_.cancel(ignored);
  });
}

void CertificateFiles::rewatch() {
  if (!inotify_.is_open()) return;
  std::set<std::string> dirs;
  directories_of(opts_.cert_file, dirs);
  directories_of(opts_.key_file, dirs);
  for (auto it = watches_.begin(); it != watches_.end();) {
    if (dirs.count(it->second)) {
      dirs.erase(it->second);
      ++it;
    } else {
      ::inotify_rm_watch(inotify_.native_handle(), it->first);
      it = watches_.erase(it);
    }
  }
  for (auto const& d : dirs) {
    int wd = ::inotify_add_watch(inotify_.native_handle(), d.c_str(),
                                 IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_MODIFY |
                                     IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF);
    if (wd >= 0) watches_[wd] = d;
    else log_.debug("TLS: cannot watch {}: {}", d, std::strerror(errno));
  }
}

void CertificateFiles::read_events() {
  if (!inotify_.is_open()) return;
  inotify_.async_read_some(net::buffer(events_), [self = shared_from_this()](error_code ec, std::size_t n) {
    if (ec || self->stopped_) return;
    bool changed = false;
    for (std::size_t i = 0; i + sizeof(inotify_event) <= n;) {
      auto const* e = reinterpret_cast<inotify_event const*>(self->events_.data() + i);
      if (e->mask & IN_IGNORED) self->watches_.erase(e->wd);  // its directory went away
      else changed = true;
      i += sizeof(inotify_event) + e->len;
    }
    if (changed) self->schedule(self->opts_.settle, "a change in the certificate's directory");
    self->read_events();
  });
}

void CertificateFiles::schedule(std::chrono::milliseconds after, std::string why) {
  if (settling_) return;  // a check is already due
  settling_ = true;
  settle_timer_.expires_after(after);
  settle_timer_.async_wait([self = shared_from_this(), why = std::move(why)](error_code ec) {
    self->settling_ = false;
    if (ec || self->stopped_) return;
    self->check(why);
  });
}

void CertificateFiles::tick() {
  interval_timer_.expires_after(opts_.interval);
  interval_timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->stopped_) return;
    self->check("the periodic check");
    self->tick();
  });
}

void CertificateFiles::wait_signal() {
  signals_.async_wait([self = shared_from_this()](error_code ec, int) {
    if (ec || self->stopped_) return;
    self->check("SIGHUP");
    self->wait_signal();
  });
}

void CertificateFiles::check(std::string_view why) {
  rewatch();  // symlinks may lead elsewhere now
  auto pair = read_pair(opts_.cert_file, opts_.key_file);
  if (!pair) {
    auto d = pair.error().message;
    if (d != refused_) log_.warn("TLS: {} ({}); keeping the current certificate", d, why);
    refused_ = d;
    return;
  }
  auto d = digest(*pair);
  if (d == installed_ || d == refused_) return;
  if (auto ok = tls_.install(*pair, source()); !ok) {
    log_.warn("TLS: new certificate refused ({}): {}; keeping the current certificate", why, ok.error().message);
    refused_ = d;
    return;
  }
  log_.info("TLS: certificate renewed without restart ({})", why);
  installed_ = d;
  refused_.clear();
}

}  // namespace nbhub::tls
