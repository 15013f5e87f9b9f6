#include "app/import_jupyterhub_command.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "hub/jupyterhub_token_hash.hpp"
#include "store/store.hpp"

namespace nbhub::app {

namespace {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtCloser {
  void operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtCloser>;
using store::Time;

std::ostream& err() { return std::cerr << "nbhub import-jupyterhub-db: "; }

std::optional<std::string> text(sqlite3_stmt* st, int col) {
  if (sqlite3_column_type(st, col) == SQLITE_NULL) return std::nullopt;
  return std::string(reinterpret_cast<char const*>(sqlite3_column_text(st, col)),
                     static_cast<std::size_t>(sqlite3_column_bytes(st, col)));
}

// JupyterHub stores naive UTC datetimes as "YYYY-MM-DD HH:MM:SS[.ffffff]".
std::optional<Time> jh_time(std::optional<std::string> const& s) {
  if (!s) return std::nullopt;
  std::tm tm{};
  int us = 0;
  int n = std::sscanf(s->c_str(), "%d-%d-%d %d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                      &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &us);
  if (n < 6) return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&tm)) + std::chrono::microseconds(us);
}

struct Source {
  sqlite3* db;
  Result<Stmt> query(char const* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK)
      return Error{Errc::config, std::string("the file does not look like a JupyterHub 3 database (") +
                                     sqlite3_errmsg(db) + ")"};
    return Stmt(st);
  }
  bool has_table(char const* name) {
    auto st = query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
    if (!st) return false;
    sqlite3_bind_text(st->get(), 1, name, -1, SQLITE_TRANSIENT);
    return sqlite3_step(st->get()) == SQLITE_ROW;
  }
};

struct Counts {
  int users = 0, users_kept = 0, groups = 0, groups_kept = 0, members = 0, tokens = 0,
      tokens_kept = 0, warnings = 0;
};

int fail(Error const& e) {
  err() << e.message << "\n";
  return 1;
}

}  // namespace

int run_import_jupyterhub_command(config::HubConfig const& cfg,
                                  std::vector<std::string> const& args) {
  if (args.size() != 1) {
    std::cerr << "usage: nbhub [-f nbhub.toml] [--db URL] import-jupyterhub-db JUPYTERHUB_SQLITE_FILE\n";
    return 2;
  }
  auto const& path = args[0];
  if (::access(path.c_str(), R_OK) != 0) {
    err() << "cannot read " << path << "\n";
    return 2;
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<sqlite3, SqliteCloser> src_db(raw);
  if (rc != SQLITE_OK) {
    err() << "cannot open " << path << ": " << sqlite3_errmsg(raw) << "\n";
    return 2;
  }
  Source src{raw};
  for (auto t : {"users", "groups", "user_group_map", "api_tokens", "services"})
    if (!src.has_table(t)) {
      err() << path << " has no table '" << t << "': not a JupyterHub database\n";
      return 2;
    }

  SystemClock clock;
  auto opened = store::Store::open(cfg.db_url, clock);
  if (!opened) return fail(opened.error());
  auto& store = **opened;
  if (auto v = store.migrate(); !v) return fail(v.error());
  Counts n;
  auto warn = [&](std::string const& what) {
    ++n.warnings;
    std::cerr << "warning: " << what << "\n";
  };

  // --- users ---
  std::map<std::int64_t, std::string> user_names;     // JupyterHub id -> name
  std::map<std::string, std::int64_t> nbhub_user_ids;  // name -> nbhub id
  {
    auto st = src.query("SELECT id, name, admin, last_activity FROM users ORDER BY id");
    if (!st) return fail(st.error());
    while (sqlite3_step(st->get()) == SQLITE_ROW) {
      auto id = sqlite3_column_int64(st->get(), 0);
      auto name = text(st->get(), 1).value_or("");
      bool admin = sqlite3_column_int(st->get(), 2) != 0;
      if (name.empty()) { warn("skipped a user without a name (JupyterHub id " + std::to_string(id) + ")"); continue; }
      user_names[id] = name;
      auto made = store.create_user(name, admin);
      if (made) {
        ++n.users;
      } else if (made.error().code == Errc::conflict) {
        ++n.users_kept;  // re-run, or the user already logged in to nbhub: kept as it is
        if (admin) {
          if (auto r = store.set_admin(name, true); !r) return fail(r.error());
        }
      } else {
        return fail(made.error());
      }
      auto row = store.get_user(name);
      if (!row) return fail(row.error());
      nbhub_user_ids[name] = row->id;
      if (auto t = jh_time(text(st->get(), 3)))
        if (auto r = store.touch_activity(name, *t); !r) return fail(r.error());
    }
  }
  if (!user_names.empty())
    warn("users' creation times are not kept: nbhub records the import time as 'created'");

  // --- groups and memberships (merged with members already in nbhub) ---
  {
    std::map<std::string, std::set<std::string>> members;
    auto g = src.query("SELECT id, name FROM groups ORDER BY name");
    if (!g) return fail(g.error());
    std::map<std::int64_t, std::string> group_names;
    while (sqlite3_step(g->get()) == SQLITE_ROW) {
      auto name = text(g->get(), 1).value_or("");
      if (name.empty()) continue;
      group_names[sqlite3_column_int64(g->get(), 0)] = name;
      members[name];
    }
    auto m = src.query("SELECT user_id, group_id FROM user_group_map");
    if (!m) return fail(m.error());
    while (sqlite3_step(m->get()) == SQLITE_ROW) {
      auto u = user_names.find(sqlite3_column_int64(m->get(), 0));
      auto gr = group_names.find(sqlite3_column_int64(m->get(), 1));
      if (u != user_names.end() && gr != group_names.end()) members[gr->second].insert(u->second);
    }
    for (auto& [name, users] : members) {
      auto existing = store.get_group(name);
      if (existing) {
        ++n.groups_kept;
        for (auto const& u : existing->members) users.insert(u);
      } else if (existing.error().code == Errc::not_found) {
        auto made = store.add_group(name, {});
        if (!made) return fail(made.error());
        ++n.groups;
      } else {
        return fail(existing.error());
      }
      std::vector<std::string> list(users.begin(), users.end());
      if (auto r = store.set_group_members(name, list); !r) return fail(r.error());
      n.members += static_cast<int>(list.size());
    }
  }

  // --- roles: nbhub's roles come from its configuration (load_roles), not the database ---
  if (src.has_table("roles")) {
    auto st = src.query(
        "SELECT r.name, r.scopes, "
        " (SELECT group_concat(u.name, ', ') FROM user_role_map m JOIN users u ON u.id = m.user_id"
        "  WHERE m.role_id = r.id),"
        " (SELECT group_concat(g.name, ', ') FROM group_role_map m JOIN groups g ON g.id = m.group_id"
        "  WHERE m.role_id = r.id),"
        " (SELECT group_concat(s.name, ', ') FROM service_role_map m JOIN services s ON s.id = m.service_id"
        "  WHERE m.role_id = r.id) FROM roles r ORDER BY r.name");
    if (!st) {
      warn("could not read JupyterHub's roles (" + st.error().message + "); declare them as load_roles");
    } else {
      while (sqlite3_step(st->get()) == SQLITE_ROW) {
        auto name = text(st->get(), 0).value_or("");
        // JupyterHub's default roles are nbhub's defaults too.
        if (name == "user" || name == "admin" || name == "server" || name == "token") continue;
        warn("role '" + name + "' (scopes " + text(st->get(), 1).value_or("[]") + "; users: " +
             text(st->get(), 2).value_or("-") + "; groups: " + text(st->get(), 3).value_or("-") +
             "; services: " + text(st->get(), 4).value_or("-") +
             ") is not imported: nbhub's roles are configuration; add it to load_roles");
      }
    }
  }

  // --- services: configuration in nbhub; their tokens are imported under their names ---
  std::map<std::int64_t, std::string> service_names;
  {
    auto st = src.query("SELECT id, name FROM services ORDER BY name");
    if (!st) return fail(st.error());
    while (sqlite3_step(st->get()) == SQLITE_ROW) {
      auto name = text(st->get(), 1).value_or("");
      service_names[sqlite3_column_int64(st->get(), 0)] = name;
      warn("service '" + name +
           "' is not imported as such: declare it in nbhub's configuration ([[services]]); its "
           "API tokens are imported and work once it is declared");
    }
  }

  // --- API tokens ---
  {
    auto st = src.query(
        "SELECT id, hashed, prefix, user_id, service_id, client_id, created, expires_at, "
        "last_activity, note, scopes FROM api_tokens ORDER BY id");
    if (!st) return fail(st.error());
    int oauth_skipped = 0;
    while (sqlite3_step(st->get()) == SQLITE_ROW) {
      auto jh_id = std::to_string(sqlite3_column_int64(st->get(), 0));
      auto hashed = text(st->get(), 1).value_or("");
      auto prefix = text(st->get(), 2).value_or("");
      auto client = text(st->get(), 5);
      // Tokens issued to single-user servers' OAuth clients die with those servers; nbhub
      // issues new ones when the servers start again.
      if (client && *client != "jupyterhub") { ++oauth_skipped; continue; }
      if (auto h = hub::parse_jupyterhub_hash(hashed); !h) {
        warn("API token " + jh_id + " skipped: " + h.error().message);
        continue;
      }
      store::TokenRow t;
      t.prefix = prefix.substr(0, 4);
      // A placeholder no raw token hashes to (its preimage contains a newline and the
      // JupyterHub verifier); unique per imported token, so a re-run finds it taken.
      t.hash = crypto::hex_encode(crypto::sha256("nbhub-import-jupyterhub-token\n" + hashed));
      t.kind = "api";
      t.note = text(st->get(), 9).value_or("");
      t.created = jh_time(text(st->get(), 6)).value_or(clock.now());
      t.expires_at = jh_time(text(st->get(), 7));
      t.last_activity = jh_time(text(st->get(), 8));
      if (sqlite3_column_type(st->get(), 3) != SQLITE_NULL) {
        auto u = user_names.find(sqlite3_column_int64(st->get(), 3));
        if (u == user_names.end()) { warn("API token " + jh_id + " skipped: its user is missing"); continue; }
        t.user_id = nbhub_user_ids.at(u->second);
      } else if (sqlite3_column_type(st->get(), 4) != SQLITE_NULL) {
        auto s = service_names.find(sqlite3_column_int64(st->get(), 4));
        if (s == service_names.end()) { warn("API token " + jh_id + " skipped: its service is missing"); continue; }
        t.service_name = s->second;
      } else {
        warn("API token " + jh_id + " skipped: it has no owner");
        continue;
      }
      t.scopes = {"inherit"};
      if (auto scopes = text(st->get(), 10)) {
        boost::system::error_code ec;
        auto v = boost::json::parse(*scopes, ec);
        if (!ec && v.is_array() && !v.as_array().empty()) {
          t.scopes.clear();
          for (auto const& s : v.as_array())
            if (s.is_string()) t.scopes.emplace_back(s.as_string());
        }
      }
      auto made = store.create_imported_token(t, hashed);
      if (made) {
        ++n.tokens;
      } else if (made.error().code == Errc::conflict) {
        ++n.tokens_kept;
      } else {
        warn("API token " + jh_id + " skipped: " + made.error().message);
      }
    }
    if (oauth_skipped > 0)
      warn(std::to_string(oauth_skipped) +
           " OAuth tokens of single-user servers are not imported (servers get new ones at start)");
  }

  std::cout << "imported from " << path << ": " << n.users << " users (" << n.users_kept
            << " already present), " << n.groups << " groups (" << n.groups_kept
            << " already present, " << n.members << " memberships), " << n.tokens
            << " API tokens (" << n.tokens_kept << " already present); " << n.warnings
            << " warnings\n";
  return 0;
}

}  // namespace nbhub::app
