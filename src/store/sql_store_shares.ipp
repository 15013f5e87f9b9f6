// SqlStoreQueries: shares, share codes and runtime services (migration 6; docs/sharing.md).
// Included by each back end's explicit instantiation (see sql_store_queries.hpp).
#pragma once
#include "store/row_checks.hpp"
#include "store/sql_dialect.hpp"
#include "store/sql_store_helpers.hpp"
#include "store/sql_store_queries.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <set>

namespace nbhub::store {

namespace {

// Shares with their names: one join, never a query per row.
#define NBHUB_SHARE_SELECT                                                                   \
  "SELECT s.id, s.owner_id, o.name, s.server_name, s.user_id, u.name, s.group_id, g.name, " \
  "s.scopes, s.created FROM shares s JOIN users o ON o.id = s.owner_id "                    \
  "LEFT JOIN users u ON u.id = s.user_id LEFT JOIN groups g ON g.id = s.group_id "

#define NBHUB_SHARE_CODE_SELECT                                                            \
  "SELECT c.id, c.owner_id, o.name, c.server_name, c.code_hash, c.prefix, c.scopes, "     \
  "c.created, c.expires, c.exchange_count, c.last_exchanged, c.max_exchanges "             \
  "FROM share_codes c JOIN users o ON o.id = c.owner_id "

Result<ShareRow> share_from(auto const& st) {
  ShareRow s;
  s.id = st.int64(0);
  s.owner_id = st.int64(1);
  s.owner_name = st.text(2);
  s.server_name = st.text(3);
  s.user_id = st.optional_int64(4);
  s.user_name = optional_text(st, 5);
  s.group_id = st.optional_int64(6);
  s.group_name = optional_text(st, 7);
  auto scopes = strings_from_db_json(st.text(8));
  if (!scopes) return make_error(Errc::internal, "the scopes of share " + std::to_string(s.id) + " are not a JSON list");
  s.scopes = std::move(*scopes);
  s.created = from_db_time(st.int64(9));
  return s;
}

Result<ShareCodeRow> share_code_from(auto const& st) {
  ShareCodeRow c;
  c.id = st.int64(0);
  c.owner_id = st.int64(1);
  c.owner_name = st.text(2);
  c.server_name = st.text(3);
  c.code_hash = st.text(4);
  c.prefix = st.text(5);
  auto scopes = strings_from_db_json(st.text(6));
  if (!scopes)
    return make_error(Errc::internal, "the scopes of share code " + std::to_string(c.id) + " are not a JSON list");
  c.scopes = std::move(*scopes);
  c.created = from_db_time(st.int64(7));
  c.expires = from_db_time(st.int64(8));
  c.exchange_count = st.int64(9);
  c.last_exchanged = optional_time(st, 10);
  c.max_exchanges = st.optional_int64(11);
  return c;
}

std::string_view share_target_column(ShareTarget t) { return t.kind == ShareTarget::Kind::user ? "user_id" : "group_id"; }

Result<std::optional<ShareRow>> share_for(auto& c, std::int64_t owner_id, std::string_view server_name,
                                          ShareTarget target) {
  auto sql = std::string(NBHUB_SHARE_SELECT "WHERE s.owner_id = ? AND s.server_name = ? AND s.") +
             std::string(share_target_column(target)) + " = ?";
  auto st = c.prepare(sql);
  if (!st) return st.error();
  auto row = st->bind(1, owner_id).bind(2, server_name).bind(3, target.id).step();
  if (!row) return row.error();
  if (!*row) return std::optional<ShareRow>{};
  auto s = share_from(*st);
  if (!s) return s.error();
  return std::optional<ShareRow>{std::move(*s)};
}

std::vector<std::string> sorted_unique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

Error no_share_code() { return make_error(Errc::not_found, "no such share code, or it has expired"); }

}  // namespace

template <class Derived, class Connection, class Statement>
Result<ShareRow> SqlStoreQueries<Derived, Connection, Statement>::grant_share_in(
    Connection& c, std::int64_t owner_id, std::string_view server_name, ShareTarget target,
    std::vector<std::string> const& scopes, Time now) {
  if (scopes.empty()) return make_error(Errc::bad_request, "a share needs at least one scope");
  auto existing = share_for(c, owner_id, server_name, target);
  if (!existing) return existing.error();
  if (*existing) {
    auto merged = (*existing)->scopes;
    merged.insert(merged.end(), scopes.begin(), scopes.end());
    merged = sorted_unique(std::move(merged));
    if (merged != (*existing)->scopes) {
      auto json = to_db_json(merged);
      auto n = run_counting(c, "UPDATE shares SET scopes = ? WHERE id = ?",
                            [&](auto& st) { st.bind(1, std::string_view(json)).bind(2, (*existing)->id); });
      if (!n) return n.error();
      (*existing)->scopes = std::move(merged);
    }
    return std::move(**existing);
  }
  auto json = to_db_json(sorted_unique(scopes));
  auto sql = std::string("INSERT INTO shares (owner_id, server_name, ") + std::string(share_target_column(target)) +
             ", scopes, created) VALUES (?, ?, ?, ?, ?)";
  auto st = c.prepare(sql);
  if (!st) return st.error();
  st->bind(1, owner_id).bind(2, server_name).bind(3, target.id).bind(4, std::string_view(json)).bind(5, to_db_time(now));
  if (auto r = st->run(); !r) {
    if (r.error().code == Errc::not_found)
      return make_error(Errc::not_found, target.kind == ShareTarget::Kind::user
                                             ? "no owner or user with id " + std::to_string(owner_id) + "/" + std::to_string(target.id)
                                             : "no owner or group with id " + std::to_string(owner_id) + "/" + std::to_string(target.id));
    return r.error();
  }
  auto made = share_for(c, owner_id, server_name, target);
  if (!made) return made.error();
  if (!*made) return make_error(Errc::internal, "a share just inserted is missing");
  return std::move(**made);
}

template <class Derived, class Connection, class Statement>
Result<ShareRow> SqlStoreQueries<Derived, Connection, Statement>::grant_share(std::int64_t owner_id,
                                                                              std::string_view server_name,
                                                                              ShareTarget target,
                                                                              std::vector<std::string> const& scopes,
                                                                              Time now) {
  return write("grant_share", [&](Connection& c) { return grant_share_in(c, owner_id, server_name, target, scopes, now); });
}

template <class Derived, class Connection, class Statement>
Result<std::optional<ShareRow>> SqlStoreQueries<Derived, Connection, Statement>::revoke_share(
    std::int64_t owner_id, std::string_view server_name, ShareTarget target,
    std::optional<std::vector<std::string>> const& scopes) {
  return write("revoke_share", [&](Connection& c) -> Result<std::optional<ShareRow>> {
    auto existing = share_for(c, owner_id, server_name, target);
    if (!existing || !*existing) return existing;
    std::vector<std::string> left;
    if (scopes) {
      std::set<std::string, std::less<>> drop(scopes->begin(), scopes->end());
      for (auto const& s : (*existing)->scopes)
        if (!drop.contains(s)) left.push_back(s);
    }
    if (left.empty()) {
      auto n = run_counting(c, "DELETE FROM shares WHERE id = ?", [&](auto& st) { st.bind(1, (*existing)->id); });
      if (!n) return n.error();
      return std::optional<ShareRow>{};
    }
    if (left != (*existing)->scopes) {
      auto json = to_db_json(left);
      auto n = run_counting(c, "UPDATE shares SET scopes = ? WHERE id = ?",
                            [&](auto& st) { st.bind(1, std::string_view(json)).bind(2, (*existing)->id); });
      if (!n) return n.error();
      (*existing)->scopes = std::move(left);
    }
    return existing;
  });
}

template <class Derived, class Connection, class Statement>
Result<std::optional<ShareRow>> SqlStoreQueries<Derived, Connection, Statement>::find_share(
    std::int64_t owner_id, std::string_view server_name, ShareTarget target) {
  return read("find_share", [&](Connection& c) { return share_for(c, owner_id, server_name, target); });
}

template <class Derived, class Connection, class Statement>
Result<std::int64_t> SqlStoreQueries<Derived, Connection, Statement>::delete_shares_for_server(
    std::int64_t owner_id, std::optional<std::string_view> server_name) {
  return write("delete_shares_for_server", [&](Connection& c) -> Result<std::int64_t> {
    if (!server_name)
      return run_counting(c, "DELETE FROM shares WHERE owner_id = ?", [&](auto& st) { st.bind(1, owner_id); });
    // A std::string: an empty string_view may have no data, which SQLite binds as NULL.
    std::string const name(*server_name);
    return run_counting(c, "DELETE FROM shares WHERE owner_id = ? AND server_name = ?",
                        [&](auto& st) { st.bind(1, owner_id).bind(2, std::string_view(name)); });
  });
}

template <class Derived, class Connection, class Statement>
Result<std::pair<std::vector<ShareRow>, std::int64_t>> SqlStoreQueries<Derived, Connection, Statement>::list_shares(
    ShareQuery const& q, std::int64_t offset, std::int64_t limit) {
  if (offset < 0 || limit < 0) return make_error(Errc::bad_request, "offset and limit must not be negative");
  // The WHERE clause and its parameters, by selector; bound in order after it.
  std::string where;
  std::vector<std::int64_t> ids;
  if (q.owner_id) {
    where = "s.owner_id = ?";
    ids.push_back(*q.owner_id);
    if (q.server_name) where += " AND s.server_name = ?";
  } else if (q.shared_with_user) {
    where = "(s.user_id = ? OR s.group_id IN (SELECT group_id FROM user_group_map WHERE user_id = ?))";
    ids = {*q.shared_with_user, *q.shared_with_user};
  } else if (q.shared_with_group) {
    where = "s.group_id = ?";
    ids.push_back(*q.shared_with_group);
  } else {
    return make_error(Errc::bad_request, "a share query needs an owner, a user or a group");
  }
  return read("list_shares", [&](Connection& c) -> Result<std::pair<std::vector<ShareRow>, std::int64_t>> {
    auto bind_where = [&](auto& st) {
      int i = 1;
      for (auto id : ids) st.bind(i++, id);
      if (q.owner_id && q.server_name) st.bind(i++, std::string_view(*q.server_name));
      return i;
    };
    std::int64_t total = 0;
    {
      auto st = c.prepare("SELECT COUNT(*) FROM shares s WHERE " + where);
      if (!st) return st.error();
      bind_where(*st);
      auto row = st->step();
      if (!row) return row.error();
      if (*row) total = st->int64(0);
    }
    auto st = c.prepare(NBHUB_SHARE_SELECT "WHERE " + where + " ORDER BY s.id LIMIT ? OFFSET ?");
    if (!st) return st.error();
    int i = bind_where(*st);
    st->bind(i, limit).bind(i + 1, offset);
    std::vector<ShareRow> out;
    for (;;) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) break;
      auto s = share_from(*st);
      if (!s) return s.error();
      out.push_back(std::move(*s));
    }
    return std::pair{std::move(out), total};
  });
}

template <class Derived, class Connection, class Statement>
Result<std::vector<std::string>> SqlStoreQueries<Derived, Connection, Statement>::shared_scopes_for_user(
    std::int64_t user_id) {
  return read("shared_scopes_for_user", [&](Connection& c) -> Result<std::vector<std::string>> {
    auto st = c.prepare(
        "SELECT scopes FROM shares WHERE user_id = ? OR group_id IN "
        "(SELECT group_id FROM user_group_map WHERE user_id = ?)");
    if (!st) return st.error();
    st->bind(1, user_id).bind(2, user_id);
    std::vector<std::string> out;
    for (;;) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) return sorted_unique(std::move(out));
      auto scopes = strings_from_db_json(st->text(0));
      if (!scopes) return make_error(Errc::internal, "the scopes of a share are not a JSON list");
      out.insert(out.end(), scopes->begin(), scopes->end());
    }
  });
}

template <class Derived, class Connection, class Statement>
Result<ShareCodeRow> SqlStoreQueries<Derived, Connection, Statement>::create_share_code(ShareCodeRow const& code) {
  if (!is_sha256_hex(code.code_hash)) return make_error(Errc::bad_request, "a share code hash must be hex SHA-256");
  if (code.prefix.size() > 4) return make_error(Errc::bad_request, "a share code prefix is at most 4 characters");
  if (code.scopes.empty()) return make_error(Errc::bad_request, "a share code needs at least one scope");
  return write("create_share_code", [&](Connection& c) -> Result<ShareCodeRow> {
    auto st = c.prepare(
        "INSERT INTO share_codes (owner_id, server_name, code_hash, prefix, scopes, created, expires, "
        "max_exchanges) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st) return st.error();
    auto json = to_db_json(sorted_unique(code.scopes));
    st->bind(1, code.owner_id)
        .bind(2, std::string_view(code.server_name))
        .bind(3, std::string_view(code.code_hash))
        .bind(4, std::string_view(code.prefix))
        .bind(5, std::string_view(json))
        .bind(6, to_db_time(code.created))
        .bind(7, to_db_time(code.expires));
    bind_or_null(*st, 8, code.max_exchanges);
    if (auto r = st->run(); !r) {
      if (r.error().code == Errc::conflict) return make_error(Errc::conflict, "a share code with this hash already exists");
      if (r.error().code == Errc::not_found) return no_user_with_id(code.owner_id);
      return r.error();
    }
    auto back = c.prepare(NBHUB_SHARE_CODE_SELECT "WHERE c.code_hash = ?");
    if (!back) return back.error();
    auto row = back->bind(1, std::string_view(code.code_hash)).step();
    if (!row) return row.error();
    if (!*row) return make_error(Errc::internal, "a share code just inserted is missing");
    return share_code_from(*back);
  });
}

template <class Derived, class Connection, class Statement>
Result<ShareCodeRow> SqlStoreQueries<Derived, Connection, Statement>::find_share_code(std::string_view code_hash) {
  return read("find_share_code", [&](Connection& c) -> Result<ShareCodeRow> {
    auto st = c.prepare(NBHUB_SHARE_CODE_SELECT "WHERE c.code_hash = ? AND c.expires > ?");
    if (!st) return st.error();
    auto row = st->bind(1, code_hash).bind(2, to_db_time(clock_.now())).step();
    if (!row) return row.error();
    if (!*row) return no_share_code();
    return share_code_from(*st);
  });
}

template <class Derived, class Connection, class Statement>
Result<ShareRow> SqlStoreQueries<Derived, Connection, Statement>::exchange_share_code(std::string_view code_hash,
                                                                                      std::int64_t user_id, Time now) {
  return write("exchange_share_code", [&](Connection& c) -> Result<ShareRow> {
    ShareCodeRow code;
    {
      auto st = c.prepare(NBHUB_SHARE_CODE_SELECT "WHERE c.code_hash = ? AND c.expires > ?");
      if (!st) return st.error();
      auto row = st->bind(1, code_hash).bind(2, to_db_time(now)).step();
      if (!row) return row.error();
      if (!*row) return no_share_code();
      auto got = share_code_from(*st);
      if (!got) return got.error();
      code = std::move(*got);
    }
    // The count is read and raised in this write transaction (SQLite: the write lock; PostgreSQL:
    // the conditional UPDATE below re-checks it), so a capped code is never exchanged once too often.
    if (code.max_exchanges && code.exchange_count >= *code.max_exchanges)
      return make_error(Errc::forbidden, "this share code has been used as many times as it may be");
    auto n = run_counting(c,
                          "UPDATE share_codes SET exchange_count = exchange_count + 1, last_exchanged = ? "
                          "WHERE id = ? AND (max_exchanges IS NULL OR exchange_count < max_exchanges)",
                          [&](auto& st) { st.bind(1, to_db_time(now)).bind(2, code.id); });
    if (!n) return n.error();
    if (*n == 0) return make_error(Errc::forbidden, "this share code has been used as many times as it may be");
    return grant_share_in(c, code.owner_id, code.server_name, ShareTarget{ShareTarget::Kind::user, user_id},
                          code.scopes, now);
  });
}

template <class Derived, class Connection, class Statement>
Result<std::pair<std::vector<ShareCodeRow>, std::int64_t>>
SqlStoreQueries<Derived, Connection, Statement>::list_share_codes(std::int64_t owner_id,
                                                                  std::optional<std::string_view> server_name,
                                                                  std::int64_t offset, std::int64_t limit) {
  if (offset < 0 || limit < 0) return make_error(Errc::bad_request, "offset and limit must not be negative");
  std::string where = "c.owner_id = ? AND c.expires > ?";
  if (server_name) where += " AND c.server_name = ?";
  // A std::string: an empty string_view may have no data, which SQLite binds as NULL.
  std::string const server(server_name.value_or(std::string_view{}));
  return read("list_share_codes", [&](Connection& c) -> Result<std::pair<std::vector<ShareCodeRow>, std::int64_t>> {
    auto now = to_db_time(clock_.now());
    auto bind_where = [&](auto& st) {
      st.bind(1, owner_id).bind(2, now);
      if (server_name) st.bind(3, std::string_view(server));
      return server_name ? 4 : 3;
    };
    std::int64_t total = 0;
    {
      auto st = c.prepare("SELECT COUNT(*) FROM share_codes c WHERE " + where);
      if (!st) return st.error();
      bind_where(*st);
      auto row = st->step();
      if (!row) return row.error();
      if (*row) total = st->int64(0);
    }
    auto st = c.prepare(NBHUB_SHARE_CODE_SELECT "WHERE " + where + " ORDER BY c.id LIMIT ? OFFSET ?");
    if (!st) return st.error();
    int i = bind_where(*st);
    st->bind(i, limit).bind(i + 1, offset);
    std::vector<ShareCodeRow> out;
    for (;;) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) break;
      auto code = share_code_from(*st);
      if (!code) return code.error();
      out.push_back(std::move(*code));
    }
    return std::pair{std::move(out), total};
  });
}

template <class Derived, class Connection, class Statement>
Result<std::int64_t> SqlStoreQueries<Derived, Connection, Statement>::delete_share_codes(
    std::int64_t owner_id, std::string_view server_name, std::optional<std::int64_t> id,
    std::optional<std::string_view> code_hash) {
  return write("delete_share_codes", [&](Connection& c) -> Result<std::int64_t> {
    if (id)
      return run_counting(c, "DELETE FROM share_codes WHERE owner_id = ? AND server_name = ? AND id = ?",
                          [&](auto& st) { st.bind(1, owner_id).bind(2, server_name).bind(3, *id); });
    if (code_hash)
      return run_counting(c, "DELETE FROM share_codes WHERE owner_id = ? AND server_name = ? AND code_hash = ?",
                          [&](auto& st) { st.bind(1, owner_id).bind(2, server_name).bind(3, *code_hash); });
    return run_counting(c, "DELETE FROM share_codes WHERE owner_id = ? AND server_name = ?",
                        [&](auto& st) { st.bind(1, owner_id).bind(2, server_name); });
  });
}

template <class Derived, class Connection, class Statement>
Result<std::int64_t> SqlStoreQueries<Derived, Connection, Statement>::purge_expired_share_codes(Time now) {
  return write("purge_expired_share_codes", [&](Connection& c) {
    return run_counting(c, "DELETE FROM share_codes WHERE expires <= ?", [&](auto& st) { st.bind(1, to_db_time(now)); });
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::create_runtime_service(RuntimeServiceRow const& s) {
  if (s.name.empty()) return make_error(Errc::bad_request, "a service name must not be empty");
  return write("create_runtime_service", [&](Connection& c) -> Result<void> {
    auto json = to_db_json(s.spec);
    auto n = run_counting(c, "INSERT INTO runtime_services (name, spec, created) VALUES (?, ?, ?)", [&](auto& st) {
      st.bind(1, std::string_view(s.name)).bind(2, std::string_view(json)).bind(3, to_db_time(s.created));
    });
    if (!n && n.error().code == Errc::conflict)
      return make_error(Errc::conflict, "a service named '" + s.name + "' already exists");
    if (!n) return n.error();
    return {};
  });
}

template <class Derived, class Connection, class Statement>
Result<std::vector<RuntimeServiceRow>> SqlStoreQueries<Derived, Connection, Statement>::list_runtime_services() {
  return read("list_runtime_services", [&](Connection& c) -> Result<std::vector<RuntimeServiceRow>> {
    auto st = c.prepare("SELECT name, spec, created FROM runtime_services ORDER BY name");
    if (!st) return st.error();
    std::vector<RuntimeServiceRow> out;
    for (;;) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) return out;
      auto spec = object_from_db_json(st->text(1));
      if (!spec) return make_error(Errc::internal, "the spec of service '" + st->text(0) + "' is not a JSON object");
      out.push_back(RuntimeServiceRow{st->text(0), std::move(*spec), from_db_time(st->int64(2))});
    }
  });
}

template <class Derived, class Connection, class Statement>
Result<bool> SqlStoreQueries<Derived, Connection, Statement>::delete_runtime_service(std::string_view name) {
  return write("delete_runtime_service", [&](Connection& c) -> Result<bool> {
    auto n = run_counting(c, "DELETE FROM runtime_services WHERE name = ?", [&](auto& st) { st.bind(1, name); });
    if (!n) return n.error();
    return *n > 0;
  });
}

#undef NBHUB_SHARE_SELECT
#undef NBHUB_SHARE_CODE_SELECT

}  // namespace nbhub::store
