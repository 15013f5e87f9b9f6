#include "auth/password_login.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "auth/claims.hpp"
#include "core/crypto.hpp"

namespace nbhub::auth {

namespace {

// Marks a sealed LoginState as a form ticket. Provider names are [a-z0-9][a-z0-9_-]*, so no
// OAuth state can carry it: a ticket is useless at the OAuth callback and an OAuth state
// cookie is useless here.
constexpr std::string_view kTicketMark = "(login form)";

constexpr std::string_view kInvalid = "Invalid username or password.";

std::string field(std::multimap<std::string, std::string> const& form, std::string const& k) {
  auto it = form.find(k);
  return it == form.end() ? std::string{} : it->second;
}

// A name from an anonymous form, fit for one log line: long ones are cut to their start and
// their length, as JupyterHub 5.5 does since CVE-2026-54338 (a megabyte of name per failed
// login would fill the log).
std::string loggable(std::string_view s) {
  std::size_t cut = s.size() > 32 ? 16 : s.size();
  while (cut < s.size() && cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8 characters
  std::string out(s.substr(0, cut));
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (s.size() > 32) out += fmt::format("...({} chars)", s.size());
  return out;
}

std::string_view trim(std::string_view s) {
  auto const ws = " \t\r\n\f\v";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Equal-length digests: the comparison tells nothing about the password's length.
bool same_password(std::string const& given, Secret const& expected) {
  return crypto::equal_ct(crypto::sha256(given), crypto::sha256(expected.reveal()));
}

}  // namespace

PasswordLogin::PasswordLogin(Providers providers,
                             SnapshotRef<config::AuthConfig> auth, LoginStateSealer& sealer,
                             Clock const& clock, Random& random, spdlog::logger& log)
    : providers_(std::move(providers)), auth_(std::move(auth)), sealer_(sealer), clock_(clock),
      random_(random), log_(log) {}

Result<FormTicket> PasswordLogin::begin(std::string const& next) {
  auto xsrf = random_.token(32);
  if (!xsrf) return Error{Errc::internal, "The system random generator failed."};
  LoginState s{.provider = std::string(kTicketMark), .state = *xsrf, .next = next,
               .issued_at = clock_.unix_seconds()};
  auto cookie = sealer_.seal(s);
  if (!cookie) return cookie.error();
  return FormTicket{*xsrf, *cookie};
}

Result<std::pair<Identity, std::string>> PasswordLogin::complete(
    std::multimap<std::string, std::string> const& form, std::string_view cookie) {
  auto const xsrf = field(form, "_xsrf");
  if (cookie.empty() || xsrf.empty()) {
    log_.warn("login form: refused: {} (cookies blocked, or the form was posted from elsewhere)",
              cookie.empty() ? "no form cookie came with it" : "it has no _xsrf field");
    return Error{Errc::forbidden, "This login form expired or did not come from this hub. "
                                  "Reload the login page and try again."};
  }
  auto ticket = sealer_.open(cookie, xsrf);
  if (!ticket || ticket->provider != kTicketMark) {
    log_.warn("login form: refused: {}", ticket ? "the cookie is not a login-form ticket"
                                                : ticket.error().message);
    return Error{Errc::forbidden, "This login form expired or did not come from this hub. "
                                  "Reload the login page and try again."};
  }

  config::ProviderConfig const* p = nullptr;
  auto const wanted = field(form, "provider");
  auto const providers = providers_.load();
  for (auto const& c : *providers)
    if (c.name == wanted || (wanted.empty() && providers->size() == 1)) p = &c;
  if (!p)
    return Error{Errc::bad_request,
                 wanted.empty() ? std::string("The login form does not say how to sign in. "
                                              "Reload the login page and try again.")
                                : fmt::format("There is no sign-in form called \"{}\".", wanted)};

  // JupyterHub strips the username, never the password.
  auto const raw = std::string(trim(field(form, "username")));
  auto const password = field(form, "password");
  if (raw.empty()) {
    log_.warn("login via {}: refused: no username given", p->name);
    return Error{Errc::unauthorized, std::string(kInvalid)};
  }
  if (p->kind == "shared-password") return shared_password(*p, raw, password, ticket->next);
  // Equal-length digests: the comparison tells nothing about the password's length.
  if (!p->password.empty() && !same_password(password, p->password)) {
    log_.warn("login refused for '{}' via {}: wrong password", loggable(raw), p->name);
    return Error{Errc::unauthorized, std::string(kInvalid)};
  }
  auto name = normalize_username(raw, auth_.load()->username_map);
  if (!name) {
    log_.warn("login via {}: refused a username: {}", p->name, name.error().message);
    return Error{Errc::unauthorized, name.error().message};
  }

  Identity id;
  id.provider = p->name;
  id.username = *name;
  id.claims = boost::json::object{{"name", *name}};
  // JupyterHub 5's DummyAuthenticator: allow_all defaults to True unless allowed_users is set
  // (3.0 allowed any name while allowed_users was empty: the same outcome).
  id.allow_all_by_default = true;
  return std::pair{std::move(id), ticket->next};
}

// JupyterHub 5.3's SharedPasswordAuthenticator.authenticate. The name is checked against
// admin_users after normalization: a raw check would let "ADMIN" through with the user
// password and then be made admin by the rules once normalized to "admin".
Result<std::pair<Identity, std::string>> PasswordLogin::shared_password(
    config::ProviderConfig const& p, std::string const& raw, std::string const& password,
    std::string const& next) {
  auto const auth = auth_.load();
  auto name = normalize_username(raw, auth->username_map);
  if (!name) {
    log_.warn("login via {}: refused a username: {}", p.name, name.error().message);
    return Error{Errc::unauthorized, name.error().message};
  }
  bool const admin = std::find(auth->admin_users.begin(), auth->admin_users.end(), *name) !=
                     auth->admin_users.end();
  auto const& expected = admin ? p.admin_password : p.user_password;
  // An unset password signs nobody in; an admin never signs in with the user password.
  if (expected.empty() || !same_password(password, expected)) {
    log_.warn("login refused for '{}' via {}: {}", loggable(raw), p.name,
              expected.empty() ? (admin ? "admin_password is not set" : "user_password is not set")
                               : (admin ? "wrong password (admin_users must give admin_password)"
                                        : "wrong password"));
    return Error{Errc::unauthorized, std::string(kInvalid)};
  }
  Identity id;
  id.provider = p.name;
  id.username = *name;
  id.claims = boost::json::object{{"name", *name}};
  // Who may sign in is decided by the hub's allow rules (allow_all, allowed_users, ...) as for
  // any authenticator; the password only proves which of the two groups the user is in.
  id.admin = admin;
  return std::pair{std::move(id), next};
}

}  // namespace nbhub::auth
