#include "store/sql_dialect.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>

namespace nbhub::store {

std::string SqlDialect::render(std::string_view portable) const {
  std::string out;
  out.reserve(portable.size() + 64);
  while (!portable.empty()) {
    auto open = portable.find('{');
    if (open == std::string_view::npos) break;
    auto close = portable.find('}', open);
    if (close == std::string_view::npos) break;
    out.append(portable.substr(0, open));
    auto key = portable.substr(open + 1, close - open - 1);
    if (key == "id_pk")
      out.append(id_pk);
    else if (key == "blob")
      out.append(blob);
    else
      out.append(portable.substr(open, close - open + 1));
    portable.remove_prefix(close + 1);
  }
  out.append(portable);
  return out;
}

std::int64_t to_db_time(Time t) {
  // floor, not truncation: times before 1970 (tests only) still round-trip consistently.
  return std::chrono::floor<std::chrono::microseconds>(t.time_since_epoch()).count();
}

Time from_db_time(std::int64_t micros) {
  return Time{std::chrono::duration_cast<Time::duration>(std::chrono::microseconds{micros})};
}

std::string to_db_json(std::vector<std::string> const& strings) {
  boost::json::array a;
  a.reserve(strings.size());
  for (auto const& s : strings) a.emplace_back(s);
  return boost::json::serialize(a);
}

std::string to_db_json(boost::json::object const& object) {
  return boost::json::serialize(object);
}

std::optional<std::vector<std::string>> strings_from_db_json(std::string_view text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(v.as_array().size());
  for (auto const& e : v.as_array()) {
    if (!e.is_string()) return std::nullopt;
    out.emplace_back(e.as_string());
  }
  return out;
}

std::optional<boost::json::object> object_from_db_json(std::string_view text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

}  // namespace nbhub::store
