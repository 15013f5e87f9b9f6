#include "acme/acme_manager.hpp"

#include <boost/json/object.hpp>
#include <fmt/chrono.h>
#include <fmt/ranges.h>
#include <spdlog/logger.h>

#include <algorithm>

#include "core/crypto.hpp"

namespace nbhub::acme {

namespace net = boost::asio;
namespace json = boost::json;

namespace {

std::string text(json::value const& v, std::string_view key) {
  auto const* o = v.if_object();
  auto const* s = o ? o->if_contains(key) : nullptr;
  return s && s->is_string() ? std::string(s->as_string()) : std::string{};
}

std::string fmt_time(store::Time t) {
  return fmt::format("{:%Y-%m-%d %H:%M:%S} UTC", std::chrono::floor<std::chrono::seconds>(t));
}

}  // namespace

std::string_view to_string(RoundOutcome o) noexcept {
  switch (o) {
    case RoundOutcome::current: return "current";
    case RoundOutcome::picked_up: return "picked_up";
    case RoundOutcome::obtained: return "obtained";
    case RoundOutcome::waiting: return "waiting";
  }
  return "unknown";
}

std::chrono::seconds backoff_delay(unsigned failures, std::chrono::seconds retry_min,
                                   std::chrono::seconds retry_max) {
  auto d = retry_min;
  for (unsigned i = 1; i < failures && d < retry_max; ++i) d *= 2;
  return std::min(d, retry_max);
}

std::string account_record_name(config::AcmeSettings const& s) { return "account " + s.directory_url; }

std::string certificate_record_name(config::AcmeSettings const& s) {
  auto domains = s.domains;
  std::sort(domains.begin(), domains.end());
  std::string name = "certificate " + s.directory_url + " ";
  for (auto const& d : domains) name += (name.back() == ' ' ? "" : ",") + d;
  return name;
}

AcmeManager::AcmeManager(config::AcmeSettings settings, store::Store& store,
                         store::CryptKeeper const& crypt, AcmeClient& client, ChallengeSolver& solver,
                         TlsSink const& sink, Clock const& clock, Sleep sleep, std::string holder_id,
                         spdlog::logger& log)
    : settings_(std::move(settings)),
      store_(store),
      crypt_(crypt),
      client_(client),
      solver_(solver),
      sink_(sink),
      clock_(clock),
      sleep_(std::move(sleep)),
      holder_(std::move(holder_id)),
      log_(log),
      account_name_(account_record_name(settings_)),
      certificate_name_(certificate_record_name(settings_)) {}

// Records are sealed JSON objects, base64 so that both back ends keep them as TEXT.
namespace {

Result<json::value> open_record(store::CryptKeeper const& crypt, store::AcmeRecord const& rec,
                                std::string const& name) {
  auto raw = crypto::base64_decode(rec.sealed);
  if (!raw) return make_error(Errc::internal, "acme: the stored " + name + " is not base64; was the database edited by hand?");
  auto opened = crypt.decrypt(*raw, name, store::CryptPurpose::acme);
  if (!opened)
    return make_error(opened.error().code, "acme: cannot decrypt the stored " + name + ": " +
                                               opened.error().message);
  return std::move(opened->value);
}

Result<void> seal_record(store::Store& store, store::CryptKeeper const& crypt, std::string const& name,
                         json::object value, store::Time now) {
  auto sealed = crypt.encrypt(value, name, store::CryptPurpose::acme);
  if (!sealed) return sealed.error();
  return store.put_acme_record(name, crypto::base64_encode(*sealed), now);
}

}  // namespace

Result<std::optional<tls::CertificatePair>> AcmeManager::load_certificate(store::Time* updated) {
  auto rec = store_.get_acme_record(certificate_name_);
  if (!rec) return rec.error();
  if (!*rec) return std::optional<tls::CertificatePair>{};
  *updated = (*rec)->updated;
  auto v = open_record(crypt_, **rec, certificate_name_);
  if (!v) return v.error();
  return std::optional<tls::CertificatePair>{tls::CertificatePair{text(*v, "chain_pem"), text(*v, "key_pem")}};
}

Result<void> AcmeManager::install(tls::CertificatePair const& pair, CertificateInfo const& info,
                                  std::string_view source, store::Time updated) {
  if (sink_.install)
    if (auto r = sink_.install(pair, source); !r) return r.error();
  installed_ = info;
  installed_updated_ = updated;
  log_.info("acme: serving the certificate from {} for {} (serial {}), valid until {}; renewal due {}",
            source, fmt::join(info.dns_names, ", "), info.serial_hex, fmt_time(info.not_after),
            fmt_time(renew_time(info, static_cast<unsigned>(settings_.renew_at_percent))));
  return {};
}

bool AcmeManager::due(CertificateInfo const& info) const {
  return clock_.now() >= renew_time(info, static_cast<unsigned>(settings_.renew_at_percent));
}

Result<void> AcmeManager::keep_lease() {
  auto const now = clock_.now();
  auto held = store_.take_acme_lease(certificate_name_, holder_, now, now + settings_.lease);
  if (!held) return held.error();
  if (!*held)
    return make_error(Errc::conflict, "acme: lost the renewal lease to another hub (tls.acme.lease_seconds "
                                      "too short for the CA?)");
  return {};
}

Result<bool> AcmeManager::pick_up_stored() {
  store::Time updated{};
  auto stored = load_certificate(&updated);
  if (!stored) return stored.error();
  if (!*stored || installed_updated_ == updated) return false;
  auto info = inspect(**stored);
  if (!info) {
    log_.warn("acme: the stored certificate is unusable ({}); getting a new one", info.error().message);
    return false;
  }
  if (installed_ && info->serial_hex == installed_->serial_hex) {
    installed_updated_ = updated;
    return false;
  }
  if (clock_.now() >= info->not_after) return false;
  if (auto r = install(**stored, *info, "the database", updated); !r) return r.error();
  return true;
}

net::awaitable<Result<RoundOutcome>> AcmeManager::check_once() {
  if (!crypt_.enabled())
    co_return make_error(Errc::config, "tls.acme needs NBHUB_CRYPT_KEY (or JUPYTERHUB_CRYPT_KEY): the "
                                       "account key and certificates are stored encrypted");
  // 1. What the store has: another process's renewal, or ours from before a restart.
  auto picked_up = pick_up_stored();
  if (!picked_up) co_return picked_up.error();
  if (installed_ && !due(*installed_))
    co_return *picked_up ? RoundOutcome::picked_up : RoundOutcome::current;

  // 2. Due or missing: only the lease holder goes to the CA.
  auto const now = clock_.now();
  auto held = store_.take_acme_lease(certificate_name_, holder_, now, now + settings_.lease);
  if (!held) co_return held.error();
  if (!*held) {
    log_.info("acme: the certificate for {} is {}; another hub holds the renewal lease, waiting "
              "for it", fmt::join(settings_.domains, ", "), installed_ ? "due for renewal" : "missing");
    co_return RoundOutcome::waiting;
  }
  // Another hub may have stored its renewal between step 1 and the lease.
  Result<RoundOutcome> outcome = RoundOutcome::obtained;
  if (auto again = pick_up_stored(); !again) {
    outcome = again.error();
  } else if (*again && !due(*installed_)) {
    outcome = RoundOutcome::picked_up;
  } else if (auto r = co_await obtain(); !r) {
    outcome = r.error();
  }
  // Released on success and on failure: the next round (here or elsewhere) may try again.
  if (auto r = store_.release_acme_lease(certificate_name_, holder_); !r)
    log_.warn("acme: releasing the renewal lease: {}", r.error().message);
  co_return outcome;
}

net::awaitable<Result<AcmeManager::Account>> AcmeManager::account() {
  auto rec = store_.get_acme_record(account_name_);
  if (!rec) co_return rec.error();
  if (*rec) {
    auto v = open_record(crypt_, **rec, account_name_);
    if (!v) co_return v.error();
    auto key = AccountKey::from_pem(text(*v, "key_pem"));
    if (!key) co_return make_error(Errc::internal, "acme: the stored account key: " + key.error().message);
    auto kid = text(*v, "kid");
    log_.info("acme: using the stored account {}", kid);
    co_return Account{std::move(*key), std::move(kid)};
  }
  auto key = AccountKey::generate();
  if (!key) co_return key.error();
  log_.info("acme: registering a new account at {} (contact {}, terms of service agreed)",
            settings_.directory_url, settings_.contact_email.empty() ? "none" : settings_.contact_email);
  auto kid = co_await client_.register_account(*key, settings_.contact_email);
  if (!kid) co_return kid.error();
  json::object value{{"key_pem", key->to_pem()}, {"kid", *kid}};
  if (auto r = seal_record(store_, crypt_, account_name_, std::move(value), clock_.now()); !r)
    co_return r.error();
  co_return Account{std::move(*key), std::move(*kid)};
}

net::awaitable<Result<void>> AcmeManager::authorize(Account const& acct, std::string const& url) {
  auto authz = co_await client_.get_authorization(acct.key, acct.kid, url);
  if (!authz) co_return authz.error();
  if (authz->status == "valid") {
    log_.info("acme: authorization for {} is already valid", authz->domain);
    co_return Result<void>{};
  }
  if (authz->status != "pending")
    co_return make_error(Errc::bad_request, fmt::format("acme authorization for {} ({}) is {}",
                                                        authz->domain, url, authz->status));
  auto it = std::find_if(authz->challenges.begin(), authz->challenges.end(),
                         [&](Challenge const& c) { return c.type == solver_.type(); });
  if (it == authz->challenges.end())
    co_return make_error(Errc::config, fmt::format("acme authorization for {}: the CA offers no {} "
                                                   "challenge (tls.acme.challenge)",
                                                   authz->domain, solver_.type()));
  auto const key_auth = key_authorization(it->token, acct.key.thumbprint());
  if (auto r = solver_.present(authz->domain, it->token, key_auth); !r) co_return r.error();
  log_.info("acme: answering the {} challenge for {}", solver_.type(), authz->domain);
  auto done = co_await client_.respond(acct.key, acct.kid, it->url);
  // No co_await inside a conditional expression: GCC 12 miscompiles it.
  Result<Authorization> final_state = done.has_error() ? Result<Authorization>(done.error())
                                                       : Result<Authorization>(Authorization{});
  if (done) final_state = co_await client_.wait_authorization(acct.key, acct.kid, url);
  solver_.withdraw(authz->domain, it->token);
  if (!final_state) co_return final_state.error();
  if (final_state->status != "valid")
    co_return make_error(Errc::bad_request,
                         fmt::format("acme authorization for {}: the CA's {} validation ended {}{}",
                                     authz->domain, solver_.type(), final_state->status,
                                     final_state->error.empty() ? "" : ": " + final_state->error));
  log_.info("acme: authorization for {} is valid", authz->domain);
  co_return Result<void>{};
}

net::awaitable<Result<void>> AcmeManager::obtain() {
  log_.info("acme: getting a certificate for {} from {} (holder {})", fmt::join(settings_.domains, ", "),
            settings_.directory_url, holder_);
  auto acct = co_await account();
  if (!acct) co_return acct.error();
  auto order = co_await client_.new_order(acct->key, acct->kid, settings_.domains);
  if (!order) co_return order.error();
  log_.info("acme: order {} is {}", order->url, order->status);
  if (order->status == "pending")
    for (auto const& url : order->authorizations) {
      if (auto r = keep_lease(); !r) co_return r.error();
      if (auto r = co_await authorize(*acct, url); !r) co_return r.error();
    }
  if (auto r = keep_lease(); !r) co_return r.error();
  auto csr = make_key_and_csr(settings_.domains, settings_.key_type == "rsa-2048"
                                                     ? CertKeyType::rsa_2048
                                                     : CertKeyType::ec_p256);
  if (!csr) co_return csr.error();
  auto valid = co_await client_.finalize(acct->key, acct->kid, std::move(*order), csr->csr_der);
  if (!valid) co_return valid.error();
  auto chain = co_await client_.download_certificate(acct->key, acct->kid, valid->certificate);
  if (!chain) co_return chain.error();
  tls::CertificatePair pair{std::move(*chain), std::move(csr->key_pem)};
  auto info = inspect(pair);
  if (!info)
    co_return make_error(Errc::bad_gateway, "acme certificate (" + valid->certificate +
                                                "): " + info.error().message);
  auto const now = clock_.now();
  json::object value{{"chain_pem", pair.chain_pem}, {"key_pem", pair.key_pem}};
  if (auto r = seal_record(store_, crypt_, certificate_name_, std::move(value), now); !r)
    co_return r.error();
  log_.info("acme: the CA issued serial {} for {}; stored for the other hubs", info->serial_hex,
            fmt::join(info->dns_names, ", "));
  co_return install(pair, *info, "the CA", now);
}

net::awaitable<void> AcmeManager::run() {
  unsigned failures = 0;
  while (!stopping_) {
    auto r = co_await check_once();
    if (observer_) observer_(r ? to_string(*r) : std::string_view("failed"));
    std::chrono::seconds wait = settings_.check_interval;
    if (r) {
      failures = 0;
      log_.debug("acme: round ended {}", to_string(*r));
    } else {
      ++failures;
      wait = backoff_delay(failures, settings_.retry_min, settings_.retry_max);
      log_.error("acme: {} (attempt {}; next in {} s)", r.error().message, failures, wait.count());
    }
    // Wake up for the renewal time when it comes before the next check.
    if (installed_ && r) {
      auto until = renew_time(*installed_, static_cast<unsigned>(settings_.renew_at_percent)) - clock_.now();
      if (until > std::chrono::seconds(0) && until < wait)
        wait = std::chrono::ceil<std::chrono::seconds>(until);
    }
    co_await sleep_(wait);
  }
}

}  // namespace nbhub::acme
