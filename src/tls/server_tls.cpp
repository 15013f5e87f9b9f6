#include "tls/server_tls.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

namespace nbhub::tls {

namespace ssl = boost::asio::ssl;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Mozilla server-side TLS, "intermediate" configuration (guidelines v5.7): TLS 1.2 ciphers;
// TLS 1.3 uses OpenSSL's default suites, which are the same as Mozilla's.
constexpr char const* kIntermediateCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
constexpr char const* kIntermediateGroups = "X25519:P-256:P-384";
constexpr std::string_view kAcmeTls = "acme-tls/1";  // RFC 8737 §6.2
constexpr std::string_view kHttp11 = "http/1.1";

struct X509Free { void operator()(X509* x) const noexcept { X509_free(x); } };
struct PkeyFree { void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); } };
struct BioFree { void operator()(BIO* b) const noexcept { BIO_free(b); } };
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The first queued OpenSSL error, as text; clears the queue.
std::string openssl_error() {
  unsigned long e = ERR_get_error();
  std::string out;
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out = buf;
  }
  ERR_clear_error();
  return out.empty() ? "unknown OpenSSL error" : out;
}

// A parsed pair: the leaf, its chain, the key.
struct Parsed {
  X509Ptr leaf;
  std::vector<X509Ptr> chain;
  PkeyPtr key;
  CertificateInfo info;
};

std::string name_of(X509_NAME const* n) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), n, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string serial_of(X509* x) {
  auto* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr);
  char* hex = bn ? BN_bn2hex(bn) : nullptr;
  std::string out = hex ? hex : "?";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::chrono::system_clock::time_point time_of(ASN1_TIME const* t) {
  struct tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

Result<Parsed> parse(CertificatePair const& pair, std::string_view source) {
  auto fail = [&](std::string what) { return make_error(Errc::config, fmt::format("{}: {}", source, what)); };
  Parsed p;
  ERR_clear_error();
  std::unique_ptr<BIO, BioFree> certs(BIO_new_mem_buf(pair.chain_pem.data(), static_cast<int>(pair.chain_pem.size())));
  for (;;) {
    X509Ptr x(PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr));
    if (!x) break;
    if (!p.leaf) p.leaf = std::move(x);
    else p.chain.push_back(std::move(x));
  }
  ERR_clear_error();  // the loop ends on "no start line"
  if (!p.leaf) return fail("no PEM certificate found (expected \"-----BEGIN CERTIFICATE-----\")");
  std::unique_ptr<BIO, BioFree> key(BIO_new_mem_buf(pair.key_pem.data(), static_cast<int>(pair.key_pem.size())));
  // A callback that refuses passphrases: an encrypted key would otherwise prompt on the tty.
  p.key.reset(PEM_read_bio_PrivateKey(key.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  if (!p.key)
    return fail(fmt::format("no usable PEM private key ({}); an encrypted key is not supported", openssl_error()));
  if (X509_check_private_key(p.leaf.get(), p.key.get()) != 1) {
    ERR_clear_error();
    return fail("the private key does not match the certificate");
  }
  p.info.subject = name_of(X509_get_subject_name(p.leaf.get()));
  p.info.serial_hex = serial_of(p.leaf.get());
  p.info.not_after = time_of(X509_get0_notAfter(p.leaf.get()));
  if (X509_cmp_current_time(X509_get0_notAfter(p.leaf.get())) <= 0)
    return fail(fmt::format("the certificate ({}) expired on {:%Y-%m-%d %H:%M:%S} UTC", p.info.subject,
                            std::chrono::floor<std::chrono::seconds>(p.info.not_after)));
  return p;
}

// "acme-tls/1" in a wire-format protocol list (RFC 7301 §3.1: length-prefixed strings).
bool offers(unsigned char const* list, std::size_t len, std::string_view proto) {
  for (std::size_t i = 0; i < len;) {
    std::size_t n = list[i++];
    if (i + n > len) return false;
    if (std::string_view(reinterpret_cast<char const*>(list + i), n) == proto) return true;
    i += n;
  }
  return false;
}

// The host name in a ClientHello's server_name extension (RFC 6066 §3), lower-cased.
std::string sni_of(SSL* s) {
  unsigned char const* p = nullptr;
  std::size_t len = 0;
  if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_server_name, &p, &len) != 1 || len < 5) return {};
  std::size_t list = (std::size_t(p[0]) << 8) | p[1];
  if (list + 2 > len || p[2] != TLSEXT_NAMETYPE_host_name) return {};
  std::size_t n = (std::size_t(p[3]) << 8) | p[4];
  if (5 + n > len) return {};
  std::string name(reinterpret_cast<char const*>(p + 5), n);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name;
}

// Index of the SSL ex_data slot that marks a connection served a TLS-ALPN-01 challenge.
int challenge_index() {
  static int const idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

// Index of the SSL_CTX ex_data slot pointing at the ServerTls::Shared of a context.
int shared_index() {
  static int const idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

}  // namespace

Result<CertificateInfo> check_pair(CertificatePair const& pair, std::string_view source) {
  auto p = parse(pair, source);
  if (!p) return p.error();
  return std::move(p->info);
}

struct TicketKey {
  std::array<unsigned char, 16> name{};
  std::array<unsigned char, 32> aes{};
  std::array<unsigned char, 32> hmac{};
  SteadyClock::time_point created;
};

struct ServerTls::Shared {
  explicit Shared(ServerTlsOptions o) : opts(o) {}
  ServerTlsOptions const opts;
  std::mutex mu;
  std::optional<TicketKey> current_key, previous_key;  // GUARDED_BY(mu)
  struct Challenge { X509Ptr leaf; std::vector<X509Ptr> chain; PkeyPtr key; };
  std::map<std::string, Challenge> challenges;         // GUARDED_BY(mu), by lower-case domain
  std::atomic<bool> any_challenge{false};
  // The installed context and its details. A context holds `shared_ptr<Shared>` (Installed),
  // so the callbacks' pointer to Shared stays valid as long as any connection uses it.
  std::shared_ptr<ssl::context> context;              // GUARDED_BY(mu)
  std::optional<CertificateInfo> info;                // GUARDED_BY(mu)
  std::shared_ptr<ssl::context> challenge_only;       // GUARDED_BY(mu), before the first install

  bool fresh_key(TicketKey& k) {
    k.created = SteadyClock::now();
    return RAND_bytes(k.name.data(), 16) == 1 && RAND_bytes(k.aes.data(), 32) == 1 &&
           RAND_bytes(k.hmac.data(), 32) == 1;
  }
};

namespace {

struct Installed {
  std::shared_ptr<ServerTls::Shared> shared;
  ssl::context ctx{ssl::context::tls_server};
};

// RFC 5077 ticket keys, rotated lazily: a key encrypts for ticket_key_lifetime, then decrypts
// (and asks for a renewed ticket) for one more lifetime.
// AES-256-CBC fetched once: EVP_aes_256_cbc() in an Init call fetches it again on every ticket
// (OpenSSL 3's implicit fetch: a name lookup under locks, per handshake).
EVP_CIPHER const* ticket_cipher() {
  static EVP_CIPHER* const c = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  return c ? c : EVP_aes_256_cbc();
}

int on_ticket(SSL* s, unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cctx, EVP_MAC_CTX* hctx,
              int enc) {
  auto* sh = static_cast<ServerTls::Shared*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s), shared_index()));
  if (!sh) return -1;
  std::lock_guard lock(sh->mu);
  auto const now = SteadyClock::now();
  auto const life = sh->opts.ticket_key_lifetime;
  if (sh->previous_key && now - sh->previous_key->created > 2 * life) sh->previous_key.reset();
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
                         OSSL_PARAM_construct_end()};
  if (enc) {
    if (!sh->current_key || now - sh->current_key->created > life) {
      TicketKey k;
      if (!sh->fresh_key(k)) return -1;
      sh->previous_key = std::move(sh->current_key);
      sh->current_key = k;
    }
    auto const& k = *sh->current_key;
    if (RAND_bytes(iv, 16) != 1) return -1;
    std::memcpy(name, k.name.data(), 16);
    if (EVP_EncryptInit_ex(cctx, ticket_cipher(), nullptr, k.aes.data(), iv) != 1) return -1;
    if (EVP_MAC_init(hctx, k.hmac.data(), k.hmac.size(), params) != 1) return -1;
    return 1;
  }
  for (auto* k : {&sh->current_key, &sh->previous_key}) {
    if (!*k || std::memcmp(name, (*k)->name.data(), 16) != 0) continue;
    if (EVP_MAC_init(hctx, (*k)->hmac.data(), (*k)->hmac.size(), params) != 1) return -1;
    if (EVP_DecryptInit_ex(cctx, ticket_cipher(), nullptr, (*k)->aes.data(), iv) != 1) return -1;
    return k == &sh->current_key ? 1 : 2;  // 2: valid, but issue a ticket under the new key
  }
  return 0;  // unknown key: a full handshake
}

// TLS-ALPN-01: swaps in the challenge certificate before the server's certificate is chosen.
int on_client_hello(SSL* s, int*, void* arg) {
  auto* sh = static_cast<ServerTls::Shared*>(arg);
  if (!sh->any_challenge.load(std::memory_order_relaxed)) return SSL_CLIENT_HELLO_SUCCESS;
  unsigned char const* alpn = nullptr;
  std::size_t len = 0;
  if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_application_layer_protocol_negotiation, &alpn, &len) != 1 ||
      len < 2 || !offers(alpn + 2, len - 2, kAcmeTls))
    return SSL_CLIENT_HELLO_SUCCESS;
  auto domain = sni_of(s);
  std::lock_guard lock(sh->mu);
  auto it = sh->challenges.find(domain);
  if (it == sh->challenges.end()) return SSL_CLIENT_HELLO_SUCCESS;
  STACK_OF(X509)* chain = sk_X509_new_null();
  for (auto const& c : it->second.chain) sk_X509_push(chain, c.get());
  int ok = SSL_use_cert_and_key(s, it->second.leaf.get(), it->second.key.get(), chain, 1);
  sk_X509_free(chain);  // SSL_use_cert_and_key took its own references
  if (ok != 1) return SSL_CLIENT_HELLO_SUCCESS;
  SSL_set_ex_data(s, challenge_index(), reinterpret_cast<void*>(1));
  return SSL_CLIENT_HELLO_SUCCESS;
}

int on_alpn(SSL* s, unsigned char const** out, unsigned char* outlen, unsigned char const* in, unsigned inlen,
            void*) {
  bool const challenge = SSL_get_ex_data(s, challenge_index()) != nullptr;
  auto want = challenge ? kAcmeTls : kHttp11;
  for (unsigned i = 0; i < inlen;) {
    unsigned n = in[i++];
    if (i + n > inlen) break;
    if (std::string_view(reinterpret_cast<char const*>(in + i), n) == want) {
      *out = in + i;
      *outlen = static_cast<unsigned char>(n);
      return SSL_TLSEXT_ERR_OK;
    }
    i += n;
  }
  // A client offering only other protocols (h2) proceeds without ALPN, i.e. HTTP/1.1.
  return SSL_TLSEXT_ERR_NOACK;
}

// `p` null: a context with no certificate, for TLS-ALPN-01 before the first install (only
// a challenge handshake, whose certificate on_client_hello sets, can complete with it).
Result<std::shared_ptr<ssl::context>> build_context(Parsed* p, std::shared_ptr<ServerTls::Shared> shared,
                                                    std::string_view source) {
  auto inst = std::make_shared<Installed>();
  inst->shared = std::move(shared);
  auto* ctx = inst->ctx.native_handle();
  auto fail = [&](std::string_view what) {
    return make_error(Errc::config, fmt::format("{}: {}: {}", source, what, openssl_error()));
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);  // intermediate: the client's order
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(ctx, kIntermediateCiphers) != 1) return fail("cipher list");
  if (SSL_CTX_set1_groups_list(ctx, kIntermediateGroups) != 1) return fail("groups");
  SSL_CTX_set_dh_auto(ctx, 1);
  if (p) {
    if (SSL_CTX_use_certificate(ctx, p->leaf.get()) != 1) return fail("certificate");
    for (auto& c : p->chain)
      if (SSL_CTX_add1_chain_cert(ctx, c.get()) != 1) return fail("chain certificate");
    if (SSL_CTX_use_PrivateKey(ctx, p->key.get()) != 1) return fail("private key");
    if (SSL_CTX_check_private_key(ctx) != 1) return fail("private key check");
  }
  auto* sh = inst->shared.get();
  // Not SSL_CTX_set_app_data: asio::ssl::context keeps its verify callback there.
  SSL_CTX_set_ex_data(ctx, shared_index(), sh);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket);
  SSL_CTX_set_timeout(ctx, static_cast<long>(2 * sh->opts.ticket_key_lifetime.count()));
  SSL_CTX_set_client_hello_cb(ctx, on_client_hello, sh);
  SSL_CTX_set_alpn_select_cb(ctx, on_alpn, sh);
  // The connection holds the context; the aliasing pointer keeps `shared` alive with it.
  return std::shared_ptr<ssl::context>(inst, &inst->ctx);
}

}  // namespace

ServerTls::ServerTls(spdlog::logger& log, ServerTlsOptions opts)
    : log_(log), shared_(std::make_shared<Shared>(opts)) {}

// Shared holds the installed context, whose Installed holds Shared (the callbacks' pointer must
// outlive every connection on that context): a cycle, broken here. Connections still on the
// context keep Shared alive through it; without this, every ServerTls leaked both (LeakSanitizer).
ServerTls::~ServerTls() {
  std::lock_guard lock(shared_->mu);
  shared_->context.reset();
  shared_->challenge_only.reset();
}

Result<void> ServerTls::install(CertificatePair const& pair, std::string_view source) {
  auto p = parse(pair, source);
  if (!p) return p.error();
  auto ctx = build_context(&*p, shared_, source);
  if (!ctx) return ctx.error();
  {
    std::lock_guard lock(shared_->mu);
    shared_->context = std::move(*ctx);
    shared_->info = p->info;
  }
  log_.info("TLS certificate installed from {}: {}, serial {}, valid until {:%Y-%m-%d %H:%M:%S} UTC", source,
            p->info.subject, p->info.serial_hex, std::chrono::floor<std::chrono::seconds>(p->info.not_after));
  return {};
}

void ServerTls::set_alpn_challenge(std::string const& domain, std::optional<CertificatePair> cert) {
  std::string key = domain;
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  std::optional<Shared::Challenge> ch;
  if (cert) {
    // Not check_pair: a challenge certificate may be short-lived; it must only parse and match.
    ERR_clear_error();
    Shared::Challenge c;
    std::unique_ptr<BIO, BioFree> certs(BIO_new_mem_buf(cert->chain_pem.data(), static_cast<int>(cert->chain_pem.size())));
    for (;;) {
      X509Ptr x(PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr));
      if (!x) break;
      if (!c.leaf) c.leaf = std::move(x);
      else c.chain.push_back(std::move(x));
    }
    std::unique_ptr<BIO, BioFree> k(BIO_new_mem_buf(cert->key_pem.data(), static_cast<int>(cert->key_pem.size())));
    c.key.reset(PEM_read_bio_PrivateKey(k.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
    ERR_clear_error();
    if (!c.leaf || !c.key || X509_check_private_key(c.leaf.get(), c.key.get()) != 1) {
      ERR_clear_error();
      log_.warn("TLS-ALPN-01 challenge for {} refused: the certificate or key does not parse, or they do not match",
                domain);
      return;
    }
    ch = std::move(c);
  }
  std::lock_guard lock(shared_->mu);
  if (ch) shared_->challenges[key] = std::move(*ch);
  else shared_->challenges.erase(key);
  shared_->any_challenge.store(!shared_->challenges.empty(), std::memory_order_relaxed);
}

std::shared_ptr<ssl::context> ServerTls::context() const {
  std::lock_guard lock(shared_->mu);
  if (shared_->context || !shared_->any_challenge.load(std::memory_order_relaxed)) return shared_->context;
  // No pair yet but a TLS-ALPN-01 challenge set: a context without a certificate, where only
  // the challenge handshake can complete (every other one fails: no certificate to offer).
  if (!shared_->challenge_only) {
    auto ctx = build_context(nullptr, shared_, "TLS-ALPN-01");
    if (ctx) shared_->challenge_only = std::move(*ctx);
  }
  return shared_->challenge_only;
}

std::optional<CertificateInfo> ServerTls::current() const {
  std::lock_guard lock(shared_->mu);
  return shared_->info;
}

bool is_alpn_challenge(SSL* ssl) noexcept {
  unsigned char const* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl, &p, &len);
  return len == kAcmeTls.size() && std::memcmp(p, kAcmeTls.data(), len) == 0;
}

}  // namespace nbhub::tls
