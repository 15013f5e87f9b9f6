// SqlStoreQueries: groups and their members.
// Included by each back end's explicit instantiation (see sql_store_queries.hpp).
#pragma once
#include "store/sql_dialect.hpp"
#include "store/sql_store_queries.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <map>

namespace nbhub::store {

namespace {

Error no_group(std::string_view name) {
  return make_error(Errc::not_found, "no group named '" + std::string(name) + "'");
}

Result<GroupRow> group_from(auto const& st) {
  GroupRow g;
  g.id = st.int64(0);
  g.name = st.text(1);
  boost::system::error_code ec;
  auto props = boost::json::parse(st.text(2), ec);
  if (ec || !props.is_object())
    return make_error(Errc::internal,
                      "the properties of group '" + g.name + "' are not a JSON object");
  g.properties = std::move(props.as_object());
  return g;
}

Result<std::vector<std::string>> members_of(auto& c, std::int64_t group_id) {
  auto st = c.prepare(
      "SELECT u.name FROM user_group_map m JOIN users u ON u.id = m.user_id "
      "WHERE m.group_id = ? ORDER BY u.name");
  if (!st) return st.error();
  st->bind(1, group_id);
  std::vector<std::string> names;
  for (;;) {
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) return names;
    names.push_back(st->text(0));
  }
}

Result<GroupRow> group_by_name(auto& c, std::string_view name) {
  GroupRow g;
  {
    auto st = c.prepare("SELECT id, name, properties FROM groups WHERE name = ?");
    if (!st) return st.error();
    auto row = st->bind(1, name).step();
    if (!row) return row.error();
    if (!*row) return no_group(name);
    auto parsed = group_from(*st);
    if (!parsed) return parsed.error();
    g = std::move(*parsed);
  }
  auto members = members_of(c, g.id);
  if (!members) return members.error();
  g.members = std::move(*members);
  return g;
}

}  // namespace

template <class Derived, class Connection, class Statement>
Result<std::vector<GroupRow>> SqlStoreQueries<Derived, Connection, Statement>::list_groups(
    std::int64_t offset, std::int64_t limit) {
  if (offset < 0 || limit < 0)
    return make_error(Errc::bad_request, "offset and limit must not be negative");
  return read("list_groups", [&](Connection& c) -> Result<std::vector<GroupRow>> {
    // Two queries for the whole page, never one per group.
    std::vector<GroupRow> groups;
    std::map<std::int64_t, std::size_t> index;
    {
      auto st = c.prepare("SELECT id, name, properties FROM groups ORDER BY name LIMIT ? OFFSET ?");
      if (!st) return st.error();
      st->bind(1, limit).bind(2, offset);
      for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) break;
        auto g = group_from(*st);
        if (!g) return g.error();
        index[g->id] = groups.size();
        groups.push_back(std::move(*g));
      }
    }
    auto st = c.prepare(
        "SELECT m.group_id, u.name FROM user_group_map m JOIN users u ON u.id = m.user_id "
        "WHERE m.group_id IN (SELECT id FROM groups ORDER BY name LIMIT ? OFFSET ?) "
        "ORDER BY u.name");
    if (!st) return st.error();
    st->bind(1, limit).bind(2, offset);
    for (;;) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) return groups;
      if (auto it = index.find(st->int64(0)); it != index.end())
        groups[it->second].members.push_back(st->text(1));
    }
  });
}

template <class Derived, class Connection, class Statement>
Result<GroupRow> SqlStoreQueries<Derived, Connection, Statement>::get_group(std::string_view name) {
  return read("get_group", [&](Connection& c) { return group_by_name(c, name); });
}

template <class Derived, class Connection, class Statement>
Result<GroupRow> SqlStoreQueries<Derived, Connection, Statement>::add_group(
    std::string_view name, boost::json::object const& properties) {
  if (name.empty()) return make_error(Errc::bad_request, "a group name must not be empty");
  return write("add_group", [&](Connection& c) -> Result<GroupRow> {
    {
      auto st = c.prepare("INSERT INTO groups (name, properties) VALUES (?, ?)");
      if (!st) return st.error();
      auto json = boost::json::serialize(properties);
      auto r = st->bind(1, name).bind(2, std::string_view(json)).run();
      if (!r && r.error().code == Errc::conflict)
        return make_error(Errc::conflict,
                          "a group named '" + std::string(name) + "' already exists");
      if (!r) return r.error();
    }
    return group_by_name(c, name);
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::set_group_properties(
    std::string_view group, boost::json::object const& properties) {
  return write("set_group_properties", [&](Connection& c) -> Result<void> {
    auto st = c.prepare("UPDATE groups SET properties = ? WHERE name = ?");
    if (!st) return st.error();
    auto text = boost::json::serialize(properties);
    if (auto r = st->bind(1, std::string_view(text)).bind(2, group).run(); !r) return r;
    if (st->changes() == 0) return no_group(group);
    return {};
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::set_group_members(
    std::string_view group, std::vector<std::string> const& user_names) {
  return write("set_group_members", [&](Connection& c) -> Result<void> {
    std::int64_t group_id = 0;
    {
      auto st = c.prepare("SELECT id FROM groups WHERE name = ?");
      if (!st) return st.error();
      auto row = st->bind(1, group).step();
      if (!row) return row.error();
      if (!*row) return no_group(group);
      group_id = st->int64(0);
    }
    // Resolve every name before changing anything, so an unknown user changes nothing
    // (the transaction would roll back anyway; this keeps the error first and clear).
    std::vector<std::int64_t> user_ids;
    for (auto const& name : user_names) {
      auto st = c.prepare("SELECT id FROM users WHERE name = ?");
      if (!st) return st.error();
      auto row = st->bind(1, std::string_view(name)).step();
      if (!row) return row.error();
      if (!*row) return make_error(Errc::not_found, "no user named '" + name + "'");
      user_ids.push_back(st->int64(0));
    }
    std::sort(user_ids.begin(), user_ids.end());
    user_ids.erase(std::unique(user_ids.begin(), user_ids.end()), user_ids.end());
    {
      auto del = c.prepare("DELETE FROM user_group_map WHERE group_id = ?");
      if (!del) return del.error();
      if (auto r = del->bind(1, group_id).run(); !r) return r;
    }
    for (auto id : user_ids) {
      auto ins = c.prepare("INSERT INTO user_group_map (user_id, group_id) VALUES (?, ?)");
      if (!ins) return ins.error();
      if (auto r = ins->bind(1, id).bind(2, group_id).run(); !r) return r;
    }
    return {};
  });
}

template <class Derived, class Connection, class Statement>
Result<void> SqlStoreQueries<Derived, Connection, Statement>::delete_group(std::string_view name) {
  return write("delete_group", [&](Connection& c) -> Result<void> {
    auto st = c.prepare("DELETE FROM groups WHERE name = ?");
    if (!st) return st.error();
    if (auto r = st->bind(1, name).run(); !r) return r;
    if (st->changes() == 0) return no_group(name);
    return {};
  });
}

}  // namespace nbhub::store
