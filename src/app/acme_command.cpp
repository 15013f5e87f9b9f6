#include "app/acme_command.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <csignal>
#include <thread>
#include <boost/asio/thread_pool.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "acme/acme_service.hpp"
#include "acme/http01_handler.hpp"
#include "app/logging.hpp"
#include "core/crypto.hpp"
#include "core/random.hpp"
#include "http/listener.hpp"
#include "store/crypt_keeper.hpp"
#include "store/store.hpp"

namespace nbhub::app {

namespace {

namespace net = boost::asio;

int usage() {
  std::cerr << "usage: nbhub [-f CONFIG] acme [--once] [--out-dir DIR]\n";
  return 2;
}

// Writes `text` to `path` with mode 0600 through a temporary file and a rename, so a reader
// never sees half a key.
Result<void> write_private(std::filesystem::path const& path, std::string const& text) {
  auto tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(Errc::unavailable, "cannot write " + tmp.string());
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  std::error_code ec;
  if (ok) std::filesystem::rename(tmp, path, ec);
  if (!ok || ec) return make_error(Errc::unavailable, "cannot write " + path.string());
  return {};
}

}  // namespace

std::string acme_holder_id(Random& random) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  auto suffix = random.bytes(4);
  return fmt::format("{}:{}:{}", host, ::getpid(), crypto::hex_encode(suffix.value_or("")));
}

int run_acme_command(config::HubConfig const& cfg, std::vector<std::string> const& args) {
  bool once = false;
  std::string out_dir;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--once")
      once = true;
    else if (args[i] == "--out-dir" && i + 1 < args.size())
      out_dir = args[++i];
    else
      return usage();
  }
  // Without --once: SIGINT and SIGTERM are blocked before any thread starts (threads inherit
  // the mask) and awaited with sigwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (!once) pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  auto const& acme_cfg = cfg.acme;
  if (!acme_cfg.enabled()) {
    std::cerr << "nbhub acme: tls.acme.domains is empty; set the names to get a certificate for\n";
    return 2;
  }
  auto logs = make_loggers(cfg.log_level);
  auto& log = *logs.hub;
  OpenSslRandom random;
  auto crypt = store::CryptKeeper::from_env(random);
  if (!crypt) {
    std::cerr << "nbhub acme: " << crypt.error().message << "\n";
    return 2;
  }
  if (!crypt->enabled()) {
    std::cerr << "nbhub acme: tls.acme needs NBHUB_CRYPT_KEY (or JUPYTERHUB_CRYPT_KEY): the "
                 "account key and certificates are stored encrypted in the database\n";
    return 2;
  }
  SystemClock clock;
  auto st = store::Store::open(cfg.db_url, clock, {.pool_size = static_cast<int>(cfg.db_pool_size)});
  if (!st) {
    std::cerr << "nbhub acme: " << st.error().message << "\n";
    return 1;
  }
  if (auto v = (*st)->migrate(); !v) {
    std::cerr << "nbhub acme: " << v.error().message << "\n";
    return 1;
  }

  acme::TlsSink sink;
  if (!out_dir.empty())
    sink.install = [dir = std::filesystem::path(out_dir), &log](tls::CertificatePair const& pair,
                                                               std::string_view source) -> Result<void> {
      if (auto r = write_private(dir / "privkey.pem", pair.key_pem); !r) return r;
      if (auto r = write_private(dir / "fullchain.pem", pair.chain_pem); !r) return r;
      log.info("acme: wrote {} and privkey.pem (from {})", (dir / "fullchain.pem").string(), source);
      return {};
    };
  // tls-alpn-01 needs the hub's own TLS listener (tls/server_tls.hpp); this command has none,
  // so its solver refuses with a message naming tls.acme.challenge.
  auto holder = acme_holder_id(random);
  log.info("acme: this process holds leases as {}", holder);
  acme::AcmeService service(acme_cfg, cfg.http_client, **st, *crypt, std::move(sink), clock, holder, log);

  // The HTTP-01 listener on a thread of its own; its handlers read the store (shared answers),
  // hence the handler pool.
  net::io_context ioc;
  auto work = net::make_work_guard(ioc);
  net::thread_pool handler_pool(1);
  http::Router router;
  acme::add_http01_route(router, service.http01());
  std::shared_ptr<http::Listener> listener;
  if (acme_cfg.challenge == "http-01") {
    listener = std::make_shared<http::Listener>(
        ioc, router,
        http::ListenerOptions{.limits = cfg.http, .name = "acme http-01",
                              .handler_executor = handler_pool.get_executor()},
        *logs.access, log);
    try {
      listener->bind(cfg.ip.empty() ? "0.0.0.0" : cfg.ip, acme_cfg.http_port);
    } catch (std::exception const& e) {
      std::cerr << "nbhub acme: tls.acme.http_port: " << e.what() << "\n";
      return 1;
    }
    listener->start();
    log.info("acme: answering HTTP-01 challenges on port {}", listener->port());
  }
  std::thread io([&ioc] { ioc.run(); });

  int exit_code = 0;
  if (once) {
    auto r = service.run_once();
    if (r) {
      std::cout << "acme: " << acme::to_string(*r) << "\n";
    } else {
      std::cout << "acme: failed: " << r.error().message << "\n";
      exit_code = 1;
    }
  } else {
    service.start();
    int sig = 0;
    sigwait(&stop_signals, &sig);  // until SIGINT or SIGTERM
    log.info("acme: stopping");
  }
  service.stop();
  if (listener) listener->stop();
  work.reset();
  ioc.stop();
  io.join();
  handler_pool.join();
  std::cout.flush();
  return exit_code;
}

}  // namespace nbhub::app
