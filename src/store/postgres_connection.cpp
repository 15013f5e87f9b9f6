#include "store/postgres_connection.hpp"

#include "store/libpq.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>

namespace nbhub::store {

// ---- helpers ------------------------------------------------------------------------------

namespace {
// libpq's functions; loaded by PgConnection::open before any other call here.
pq::Api const& lib() { return pq::api(); }
}  // namespace

std::string renumber_placeholders(std::string_view sql, int& params) {
  std::string out;
  out.reserve(sql.size() + 16);
  params = 0;
  char quote = 0;  // inside '...' or "..."
  for (char ch : sql) {
    if (quote) {
      if (ch == quote) quote = 0;
      out += ch;
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
      out += ch;
    } else if (ch == '?') {
      out += '$';
      out += std::to_string(++params);
    } else {
      out += ch;
    }
  }
  return out;
}

std::string redact_postgres_url(std::string_view url) {
  std::string out(url);
  // userinfo: scheme://user:password@host -> scheme://user@host
  if (auto scheme_end = out.find("://"); scheme_end != std::string::npos) {
    auto start = scheme_end + 3;
    auto end = out.find_first_of("/?", start);
    auto at = out.rfind('@', end == std::string::npos ? std::string::npos : end);
    if (at != std::string::npos && at >= start) {
      auto colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.erase(colon, at - colon);
    }
  }
  // query: ...&password=x&... -> dropped
  if (auto q = out.find('?'); q != std::string::npos) {
    std::string query = out.substr(q + 1), kept;
    std::size_t pos = 0;
    while (pos <= query.size()) {
      auto amp = query.find('&', pos);
      auto part = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
      if (!part.starts_with("password=") && !part.empty()) {
        if (!kept.empty()) kept += '&';
        kept += part;
      }
      if (amp == std::string::npos) break;
      pos = amp + 1;
    }
    out.erase(q);
    if (!kept.empty()) out += "?" + kept;
  }
  return out;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// ---- PgStatement --------------------------------------------------------------------------

PgStatement::PgStatement(PgConnection& conn, std::string const& name, int params)
    : conn_(&conn), name_(&name), values_(params), formats_(params, 0) {}

PgStatement::PgStatement(PgStatement&& other) noexcept
    : conn_(other.conn_),
      name_(other.name_),
      values_(std::move(other.values_)),
      formats_(std::move(other.formats_)),
      result_(other.result_),
      row_(other.row_),
      executed_(other.executed_) {
  other.result_ = nullptr;
}

PgStatement::~PgStatement() {
  if (result_) lib().clear(result_);
}

// An index outside the statement's parameters is a bug in our fixed SQL; PostgreSQL then
// reports the unbound parameter when the statement runs.
PgStatement& PgStatement::bind(int index, std::int64_t value) {
  if (index >= 1 && index <= static_cast<int>(values_.size())) {
    values_[index - 1] = std::to_string(value);
    formats_[index - 1] = 0;
  }
  return *this;
}

PgStatement& PgStatement::bind(int index, bool value) {
  if (index >= 1 && index <= static_cast<int>(values_.size())) {
    values_[index - 1] = value ? "true" : "false";
    formats_[index - 1] = 0;
  }
  return *this;
}

PgStatement& PgStatement::bind(int index, std::string_view text) {
  if (index >= 1 && index <= static_cast<int>(values_.size())) {
    values_[index - 1] = std::string(text);
    formats_[index - 1] = 0;
  }
  return *this;
}

PgStatement& PgStatement::bind_blob(int index, std::string_view bytes) {
  if (index >= 1 && index <= static_cast<int>(values_.size())) {
    values_[index - 1] = std::string(bytes);
    formats_[index - 1] = 1;  // binary: bytea's binary form is the bytes themselves
  }
  return *this;
}

PgStatement& PgStatement::bind_null(int index) {
  if (index >= 1 && index <= static_cast<int>(values_.size())) values_[index - 1].reset();
  return *this;
}

Result<bool> PgStatement::step() {
  if (!executed_) {
    executed_ = true;
    std::vector<const char*> values(values_.size());
    std::vector<int> lengths(values_.size());
    for (std::size_t i = 0; i < values_.size(); ++i) {
      values[i] = values_[i] ? values_[i]->data() : nullptr;
      lengths[i] = values_[i] ? static_cast<int>(values_[i]->size()) : 0;
    }
    result_ = lib().execPrepared(conn_->conn_, name_->c_str(), static_cast<int>(values.size()),
                             values.data(), lengths.data(), formats_.data(), 0);
    auto status = result_ ? lib().resultStatus(result_) : PGRES_FATAL_ERROR;
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) return conn_->error(result_);
  }
  ++row_;
  return row_ < lib().ntuples(result_);
}

Result<void> PgStatement::run() {
  auto r = step();
  if (!r) return r.error();
  return {};
}

bool PgStatement::is_null(int c) const { return lib().getisnull(result_, row_, c) != 0; }

std::int64_t PgStatement::int64(int c) const {
  const char* v = lib().getvalue(result_, row_, c);
  int n = lib().getlength(result_, row_, c);
  if (n == 1 && (v[0] == 't' || v[0] == 'f')) return v[0] == 't' ? 1 : 0;
  std::int64_t out = 0;
  std::from_chars(v, v + n, out);
  return out;
}

std::string PgStatement::text(int c) const {
  return std::string(lib().getvalue(result_, row_, c), lib().getlength(result_, row_, c));
}

std::string PgStatement::blob(int c) const {
  std::string_view v(lib().getvalue(result_, row_, c), lib().getlength(result_, row_, c));
  if (!v.starts_with("\\x")) return std::string(v);  // bytea_output = hex is set on connect
  v.remove_prefix(2);
  std::string out;
  out.reserve(v.size() / 2);
  for (std::size_t i = 0; i + 1 < v.size(); i += 2)
    out += static_cast<char>(hex_value(v[i]) * 16 + hex_value(v[i + 1]));
  return out;
}

std::optional<std::int64_t> PgStatement::optional_int64(int c) const {
  if (is_null(c)) return std::nullopt;
  return int64(c);
}

std::optional<std::string> PgStatement::optional_blob(int c) const {
  if (is_null(c)) return std::nullopt;
  return blob(c);
}

std::int64_t PgStatement::changes() const {
  if (!result_) return 0;
  const char* n = lib().cmdTuples(result_);
  return n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

// ---- PgConnection -------------------------------------------------------------------------

Result<std::unique_ptr<PgConnection>> PgConnection::open(Options options) {
  if (auto loaded = pq::load(); !loaded) return loaded.error();  // libpq is dlopen'd on first use
  std::unique_ptr<PgConnection> conn(new PgConnection(std::move(options)));
  auto const& o = conn->options_;
  auto timeout = std::to_string(
      std::max<long long>(1, std::chrono::ceil<std::chrono::seconds>(o.connect_timeout).count()));
  // expand_dbname: the URL supplies everything; the other keywords only fill what it omits.
  const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* values[] = {o.url.c_str(), timeout.c_str(), "nbhub", nullptr};
  conn->conn_ = lib().connectdbParams(keys, values, 1);
  if (!conn->conn_) return make_error(Errc::unavailable, "out of memory connecting to PostgreSQL");
  if (lib().status(conn->conn_) != CONNECTION_OK) {
    std::string msg = lib().errorMessage(conn->conn_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return make_error(Errc::unavailable,
                      "cannot connect to PostgreSQL at " + o.display + ": " + msg +
                          "; check that the server runs, the URL and the credentials");
  }
  // Fixed session settings the accessors rely on (hex bytea, UTF-8, UTC never matters: times
  // are integers).
  if (auto r = conn->exec("SET bytea_output = 'hex'; SET client_encoding = 'UTF8'; "
                          "SET client_min_messages = warning");
      !r)
    return r.error();
  return conn;
}

PgConnection::~PgConnection() {
  if (conn_) lib().finish(conn_);
}

Result<PgStatement> PgConnection::prepare(std::string_view sql) {
  auto it = prepared_.find(std::string(sql));
  if (it == prepared_.end()) {
    int params = 0;
    auto text = renumber_placeholders(sql, params);
    Prepared p{"nbhub_" + std::to_string(prepared_.size() + 1), params};
    PGresult* res = lib().prepare(conn_, p.name.c_str(), text.c_str(), 0, nullptr);
    bool ok = res && lib().resultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
      auto e = error(res);
      if (res) lib().clear(res);
      return e;
    }
    lib().clear(res);
    it = prepared_.emplace(std::string(sql), std::move(p)).first;
  }
  return PgStatement(*this, it->second.name, it->second.params);
}

Result<void> PgConnection::exec(std::string const& sql) {
  PGresult* res = lib().exec(conn_, sql.c_str());
  auto status = res ? lib().resultStatus(res) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    auto e = error(res);
    if (res) lib().clear(res);
    return e;
  }
  lib().clear(res);
  return {};
}

bool PgConnection::in_transaction() const {
  auto s = lib().transactionStatus(conn_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

bool PgConnection::broken() const { return !conn_ || lib().status(conn_) != CONNECTION_OK; }

Error PgConnection::error(pg_result const* res) const {
  auto field = [&](int code) -> std::string {
    const char* v = res ? lib().resultErrorField(res, code) : nullptr;
    return v ? v : "";
  };
  std::string state = field(PG_DIAG_SQLSTATE);
  std::string primary = field(PG_DIAG_MESSAGE_PRIMARY);
  std::string constraint = field(PG_DIAG_CONSTRAINT_NAME);
  auto const& url = options_.display;
  if (state.empty() || broken()) {
    std::string msg = conn_ ? lib().errorMessage(conn_) : "";
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return make_error(Errc::unavailable, "lost the connection to PostgreSQL at " + url + " (" +
                                             msg + "); the request failed, retry it");
  }
  std::string detail = primary + (constraint.empty() ? "" : " [" + constraint + "]");
  if (state == "23505") return make_error(Errc::conflict, "already exists (" + detail + ")");
  if (state == "23503")
    return make_error(Errc::not_found, "refers to a row that does not exist (" + detail + ")");
  if (state.starts_with("23")) return make_error(Errc::internal, "constraint violated (" + detail + ")");
  if (state.starts_with("08") || state.starts_with("57") || state.starts_with("53") ||
      state == "40001" || state == "40P01" || state == "55P03" || state.starts_with("58"))
    return make_error(Errc::unavailable, fmt::format("PostgreSQL at {} could not serve the "
                                                     "request (SQLSTATE {}: {}); retry",
                                                     url, state, primary));
  if (state.starts_with("28"))
    return make_error(Errc::unavailable,
                      "PostgreSQL at " + url + " refused access (" + primary + ")");
  return make_error(Errc::internal, fmt::format("PostgreSQL error {}: {}", state, primary));
}

}  // namespace nbhub::store
