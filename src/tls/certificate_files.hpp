#pragma once
// Keeps a ServerTls in step with a certificate and key on disk (docs/tls.md, "Renewal"):
// content changed in place, a file renamed over the old one, the `..data` symlink swap with
// which Kubernetes updates a mounted Secret, certbot's `live/` symlinks. It watches the files'
// directories, and the directories their symlinks lead to, with inotify; checks again every
// `interval` (some file systems send no events) and on SIGHUP. A change is picked up after
// `settle` of quiet, so that a certificate and key written one after the other are read as a
// pair. A pair that fails its checks is refused with one warning and the old one stays.
//
// Executor: start() and everything after run on the io_context given to the constructor.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "tls/server_tls.hpp"

namespace spdlog { class logger; }

namespace nbhub::tls {

// Reads both files; errors name the file that cannot be read (Errc::config).
Result<CertificatePair> read_pair(std::string const& cert_file, std::string const& key_file);

struct CertificateFilesOptions {
  std::string cert_file;
  std::string key_file;
  std::chrono::milliseconds interval{10000};  // the check without events
  std::chrono::milliseconds settle{300};      // quiet after an event before reading
  bool sighup = true;                         // also check on SIGHUP
};

class CertificateFiles : public std::enable_shared_from_this<CertificateFiles> {
 public:
  // `tls` and `log` must outlive this object.
  CertificateFiles(boost::asio::io_context& ioc, ServerTls& tls, CertificateFilesOptions opts, spdlog::logger& log);
  ~CertificateFiles();

  // Reads and installs the pair now; the error (a file unreadable, a key that does not match,
  // an expired certificate) names the files. For startup: exit 2 on error.
  Result<void> load();
  // Starts watching (inotify, timer, SIGHUP). Call after a successful load().
  void start();
  // Stops watching; pending handlers end.
  void stop();
  // Checks the files now (what an event, the timer and SIGHUP do).
  void check(std::string_view why);

 private:
  void rewatch();
  void read_events();
  void schedule(std::chrono::milliseconds after, std::string why);
  void tick();
  void wait_signal();
  std::string source() const;

  boost::asio::io_context& ioc_;
  ServerTls& tls_;
  CertificateFilesOptions const opts_;
  spdlog::logger& log_;
  boost::asio::posix::stream_descriptor inotify_;
  boost::asio::steady_timer settle_timer_, interval_timer_;
  boost::asio::signal_set signals_;
  std::map<int, std::string> watches_;  // inotify watch descriptor -> directory
  std::string installed_;               // the content of the installed pair (cert + key)
  std::string refused_;                 // the content last refused: not reported again
  bool settling_ = false;
  bool stopped_ = false;
  std::array<char, 4096> events_{};
};

}  // namespace nbhub::tls
