// SqlStoreQueries: users and their group memberships.
// Included by each back end's explicit instantiation (see sql_store_queries.hpp).
#pragma once
#include "store/sql_dialect.hpp"
#include "store/sql_store_queries.hpp"

#include <algorithm>
#include <map>

namespace nbhub::store {

namespace {

#define NBHUB_USER_COLUMNS \
  "id, name, admin, created, last_activity, encrypted_auth_state, auth_refreshed"

UserRow user_from(auto const& st) {
  UserRow u;
  u.id = st.int64(0);
  u.name = st.text(1);
  u.admin = st.int64(2) != 0;
  u.created = from_db_time(st.int64(3));
  if (auto t = st.optional_int64(4)) u.last_activity = from_db_time(*t);
  u.encrypted_auth_state = st.optional_blob(5);
  if (auto t = st.optional_int64(6)) u.auth_refreshed = from_db_time(*t);
  return u;
}

Error no_user(std::string_view name) {
  return make_error(Errc::not_found, "no user named '" + std::string(name) + "'");
}

Result<void> check_name(std::string_view what, std::string_view name) {
  if (name.empty()) return make_error(Errc::bad_request, std::string(what) + " must not be empty");
  return {};
}

Result<void> check_page(std::int64_t offset, std::int64_t limit) {
  if (offset < 0 || limit < 0)
    return make_error(Errc::bad_request, "offset and limit must not be negative");
  return {};
}

Result<std::vector<std::string>> groups_of(auto& c, std::int64_t user_id) {
  auto st = c.prepare(
      "SELECT g.name FROM user_group_map m JOIN groups g ON g.id = m.group_id "
      "WHERE m.user_id = ? ORDER BY g.name");
  if (!st) return st.error();
  st->bind(1, user_id);
  std::vector<std::string> names;
  for (;;) {
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return names;
    names.push_back(st->text(0));
  }
}

// `sql` selects NBHUB_USER_COLUMNS with one parameter, bound to `key`.
template <class Key>
Result<std::optional<UserRow>> find_user(auto& c, std::string_view sql, Key key) {
  UserRow u;
  {
    auto st = c.prepare(sql);
    if (!st) return st.error();
    st->bind(1, key);
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return std::optional<UserRow>{};
    u = user_from(*st);
  }
  auto groups = groups_of(c, u.id);
  if (!groups) return groups.error();
  u.groups = std::move(*groups);
  return std::optional<UserRow>{std::move(u)};
}

Result<UserRow> user_by_name(auto& c, std::string_view name) {
  auto u = find_user(c, "SELECT " NBHUB_USER_COLUMNS " FROM users WHERE name = ?", name);
  if (!u) return u.error();
  if (!*u) return no_user(name);
  return std::move(**u);
}

Result<UserRow> user_by_id(auto& c, std::int64_t id) {
  auto u = find_user(c, "SELECT " NBHUB_USER_COLUMNS " FROM users WHERE id = ?", id);
  if (!u) return u.error();
  if (!*u) return make_error(Errc::not_found, "no user with id " + std::to_string(id));
  return std::move(**u);
}

// Replaces the user's memberships by `names`, creating groups that do not exist yet.
// `int64_param` is the back end's `?` for an integer in a SELECT list (see kInt64Param).
Result<void> replace_groups(auto& c, std::int64_t user_id, std::vector<std::string> names,
                            std::string_view int64_param) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (auto const& g : names)
    if (auto r = check_name("a group name", g); !r) return r;
  {
    auto del = c.prepare("DELETE FROM user_group_map WHERE user_id = ?");
    if (!del) return del.error();
    if (auto r = del->bind(1, user_id).run(); !r) return r;
  }
  for (auto const& g : names) {
    {
      auto ins = c.prepare("INSERT INTO groups (name) VALUES (?) ON CONFLICT (name) DO NOTHING");
      if (!ins) return ins.error();
      if (auto r = ins->bind(1, std::string_view(g)).run(); !r) return r;
    }
    auto const link_sql = "INSERT INTO user_group_map (user_id, group_id) SELECT " +
                          std::string(int64_param) + ", id FROM groups WHERE name = ?";
    auto link = c.prepare(link_sql);
    if (!link) return link.error();
    if (auto r = link->bind(1, user_id).bind(2, std::string_view(g)).run(); !r) return r;
  }
  return {};
}

// Runs a one-row UPDATE/DELETE keyed by user name; not_found when no row matched.
Result<void> update_user(auto& c, std::string_view sql, std::string_view name, auto&& bind_rest) {
  auto st = c.prepare(sql);
  if (!st) return st.error();
  bind_rest(*st);
  if (auto r = st->run(); !r) return r;
  if (st->changes() == 0) return no_user(name);
  return {};
}

}  // namespace

template <class Derived, class Connection, class Statement>
Result<UserRow> SqlStoreQueries<Derived, Connection, Statement>::get_user(std::string_view name) {
  return read("get_user", [&](Connection& c) { return user_by_name(c, name); });
}

template <class Derived, class Connection, class Statement>
Result<UserRow> SqlStoreQueries<Derived, Connection, Statement>::get_user_by_id(std::int64_t id) {
  return read("get_user_by_id", [&](Connection& c) { return user_by_id(c, id); });
}

template <class Derived, class Connection, class Statement>
Result<bool> SqlStoreQueries<Derived, Connection, Statement>::user_exists(std::string_view name) {
  return read("user_exists", [&](Connection& c) -> Result<bool> {
    auto st = c.prepare("SELECT 1 FROM users WHERE name = ?");
    if (!st) return st.error();
    return st->bind(1, name).step();
  });
}

template <class Derived, class Connection, class Statement>
Result<std::vector<UserRow>> SqlStoreQueries<Derived, Connection, Statement>::list_users(
    std::int64_t offset, std::int64_t limit) {
  if (auto r = check_page(offset, limit); !r) return r.error();
  return read("list_users", [&](Connection& c) -> Result<std::vector<UserRow>> {
    // Two queries for the whole page, never one per user.
    std::vector<UserRow> users;
    std::map<std::int64_t, std::size_t> index;
    {
      auto st = c.prepare("SELECT " NBHUB_USER_COLUMNS " FROM users ORDER BY id LIMIT ? OFFSET ?");
      if (!st) return st.error();
      st->bind(1, limit).bind(2, offset);
      for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) break;
        index[st->int64(0)] = users.size();
        users.push_back(user_from(*st));
      }
    }
    auto st = c.prepare(
        "SELECT m.user_id, g.name FROM user_group_map m JOIN groups g ON g.id = m.group_id "
        "WHERE m.user_id IN (SELECT id FROM users ORDER BY id LIMIT ? OFFSET ?) "
        "ORDER BY g.name");
    if (!st) return st.error();
    st->bind(1, limit).bind(2, offset);
    for (;;) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) return users;
      if (auto it = index.find(st->int64(0)); it != index.end())
        users[it->second].groups.push_back(st->text(1));
    }
  });
}

template <class Derived, class Connection, class Statement>
Result<std::int64_t> SqlStoreQueries<Derived, Connection, Statement>::count_users() {
  return read("count_users", [&](Connection& c) -> Result<std::int64_t> {
    auto st = c.prepare("SELECT COUNT(*) FROM users");
    if (!st) return st.error();
    auto row = st->step();
    if (!row) return row.error();
    return st->int64(0);
  });
}

template <class Derived, class Connection, class Statement>
Result<Store::UserActivityCounts> SqlStoreQueries<Derived, Connection, Statement>::count_user_activity(
    std::span<const Time> cutoffs) {
  return read("count_user_activity", [&](Connection& c) -> Result<UserActivityCounts> {
    // One pass over users: COUNT(*), and a filtered COUNT per cutoff (SQLite 3.30+ and
    // PostgreSQL both read FILTER; a NULL last_activity is never counted active).
    std::string sql = "SELECT COUNT(*)";
    for (std::size_t i = 0; i < cutoffs.size(); ++i)
      sql += ", COUNT(*) FILTER (WHERE last_activity >= " + std::string(Derived::kInt64Param) + ")";
    sql += " FROM users";
    auto st = c.prepare(sql);
    if (!st) return st.error();
    for (std::size_t i = 0; i < cutoffs.size(); ++i) st->bind(static_cast<int>(i + 1), to_db_time(cutoffs[i]));
    auto row = st->step();
    if (!row) return row.error();
    UserActivityCounts out;
    out.total = st->int64(0);
    for (std::size_t i = 0; i < cutoffs.size(); ++i) out.active_since.push_back(st->int64(static_cast<int>(i + 1)));
    return out;
  });
}

template <class Derived, class Connection, class Statement>
Result<UserRow> SqlStoreQueries<Derived, Connection, Statement>::create_user(std::string_view name,
                                                                             bool admin) {
  if (auto r = check_name("a user name", name); !r) return r.error();
  return write("create_user", [&](Connection& c) -> Result<UserRow> {
    auto st = c.prepare("INSERT INTO users (name, admin, created) VALUES (?, ?, ?) RETURNING id");
    if (!st) return st.error();
    auto row = st->bind(1, name).bind(2, admin).bind(3, to_db_time(clock_.now())).step();
    if (!row && row.error().code == Errc::conflict)
      return make_error(Errc::conflict, "a user named '" + std::string(name) + "' already exists");
    if (!row) return row.error();
    return user_by_id(c, st->int64(0));
  });
}

template <class Derived, class Connection, class Statement>
Result<std::vector<UserRow>> SqlStoreQueries<Derived, Connection, Statement>::create_users(
    std::span<std::string const> names, bool admin) {
  for (auto const& name : names)
    if (auto r = check_name("a user name", name); !r) return r.error();
  return write("create_users", [&](Connection& c) -> Result<std::vector<UserRow>> {
    auto const now = to_db_time(clock_.now());
    std::vector<UserRow> created;
    for (auto const& name : names) {
      auto st = c.prepare(
          "INSERT INTO users (name, admin, created) VALUES (?, ?, ?) "
          "ON CONFLICT (name) DO NOTHING RETURNING id");
      if (!st) return st.error();
      auto row = st->bind(1, std::string_view(name)).bind(2, admin).bind(3, now).step();
      if (!row) return row.error();
      if (!*row) continue;  // already there (or named twice): not created by this call
      auto u = user_by_id(c, st->int64(0));
      if (!u) return u.error();
      created.push_back(std::move(*u));
    }
    return created;
  });
}

template <class Derived, class Connection, class Statement>
Result<UpsertedUser> SqlStoreQueries<Derived, Connection, Statement>::upsert_user_on_login(
    LoginUpdate const& login) {
  if (auto r = check_name("a user name", login.name); !r) return r.error();
  return write("upsert_user_on_login", [&](Connection& c) -> Result<UpsertedUser> {
    auto now = to_db_time(clock_.now());
    std::int64_t id = 0;
    bool created = false;
    {
      auto st = c.prepare(
          "INSERT INTO users (name, admin, created) VALUES (?, ?, ?) "
          "ON CONFLICT (name) DO NOTHING RETURNING id");
      if (!st) return st.error();
      auto row = st->bind(1, std::string_view(login.name))
                     .bind(2, login.admin.value_or(false))
                     .bind(3, now)
                     .step();
      if (!row) return row.error();
      if (*row) {
        created = true;
        id = st->int64(0);
      }
    }
    if (!created) {
      auto st = c.prepare("SELECT id FROM users WHERE name = ?");
      if (!st) return st.error();
      auto row = st->bind(1, std::string_view(login.name)).step();
      if (!row) return row.error();
      if (!*row) return make_error(Errc::internal, "user vanished inside its own transaction");
      id = st->int64(0);
    }
    {
      // NULL leaves a column as it is: COALESCE(NULL, admin) is admin.
      auto st = c.prepare(
          "UPDATE users SET admin = COALESCE(?, admin), "
          "encrypted_auth_state = COALESCE(?, encrypted_auth_state), auth_refreshed = ? "
          "WHERE id = ?");
      if (!st) return st.error();
      if (login.admin)
        st->bind(1, *login.admin);
      else
        st->bind_null(1);
      if (login.encrypted_auth_state)
        st->bind_blob(2, *login.encrypted_auth_state);
      else
        st->bind_null(2);
      if (auto r = st->bind(3, now).bind(4, id).run(); !r) return r.error();
    }
    if (login.groups)
      if (auto r = replace_groups(c, id, *login.groups, Derived::kInt64Param); !r) return r.error();
    if (login.session) {
      if (login.session->id_hash.empty())
        return make_error(Errc::bad_request, "a session id hash must not be empty");
      auto session = *login.session;
      session.user_id = id;
      if (auto r = insert_session(c, session); !r) return r.error();
    }
    auto user = user_by_id(c, id);
    if (!user) return user.error();
    return UpsertedUser{std::move(*user), created};
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::set_admin(std::string_view name,
                                                                        bool admin) {
  return write("set_admin", [&](Connection& c) {
    return update_user(c, "UPDATE users SET admin = ? WHERE name = ?", name,
                       [&](Statement& st) { st.bind(1, admin).bind(2, name); });
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::rename_user(
    std::string_view name, std::string_view new_name) {
  if (new_name.empty()) return make_error(Errc::bad_request, "a user name cannot be empty");
  return write("rename_user", [&](Connection& c) -> Result<void> {
    auto taken = user_by_name(c, new_name);
    if (taken)
      return make_error(Errc::conflict,
                        "a user named '" + std::string(new_name) + "' already exists");
    return update_user(c, "UPDATE users SET name = ? WHERE name = ?", name,
                       [&](Statement& st) { st.bind(1, new_name).bind(2, name); });
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::set_auth_state(
    std::string_view name, std::optional<std::string> encrypted) {
  return write("set_auth_state", [&](Connection& c) {
    return update_user(c, "UPDATE users SET encrypted_auth_state = ? WHERE name = ?", name,
                       [&](Statement& st) {
                         if (encrypted)
                           st.bind_blob(1, *encrypted);
                         else
                           st.bind_null(1);
                         st.bind(2, name);
                       });
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::set_auth_refreshed(
    std::string_view name, Time when) {
  return write("set_auth_refreshed", [&](Connection& c) {
    return update_user(c, "UPDATE users SET auth_refreshed = ? WHERE name = ?", name,
                       [&](Statement& st) { st.bind(1, to_db_time(when)).bind(2, name); });
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::delete_user(std::string_view name) {
  // Sessions and memberships go with the user (ON DELETE CASCADE, migrations.cpp).
  return write("delete_user", [&](Connection& c) {
    return update_user(c, "DELETE FROM users WHERE name = ?", name,
                       [&](Statement& st) { st.bind(1, name); });
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::touch_activity(std::string_view name,
                                                                             Time when) {
  return write("touch_activity", [&](Connection& c) -> Result<void> {
    auto t = to_db_time(when);
    {
      // A condition rather than MAX()/GREATEST(), which differ between the dialects.
      auto st = c.prepare(
          "UPDATE users SET last_activity = ? "
          "WHERE name = ? AND (last_activity IS NULL OR last_activity < ?)");
      if (!st) return st.error();
      if (auto r = st->bind(1, t).bind(2, name).bind(3, t).run(); !r) return r;
      if (st->changes() > 0) return {};
    }
    // Nothing changed: either the user is unknown or the stored activity is newer.
    auto st = c.prepare("SELECT 1 FROM users WHERE name = ?");
    if (!st) return st.error();
    auto row = st->bind(1, name).step();
    if (!row) return row.error();
    if (!*row) return no_user(name);
    return {};
  });
}

#undef NBHUB_USER_COLUMNS

}  // namespace nbhub::store
