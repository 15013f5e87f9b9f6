#pragma once
// Errors as values on the request path (STYLE.md §4). `Result<T>` is boost::system::result,
// our C++20 stand-in for std::expected.
#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace nbhub {

// One flat outcome enum: it decides the HTTP status (api/web error mapping) and labels logs.
enum class Errc {
  bad_request,      // malformed input from a client
  unauthorized,     // no or invalid credentials
  forbidden,        // authenticated but not allowed
  not_found,
  conflict,
  too_large,
  unavailable,      // a dependency (IdP, store) is down or timed out
  bad_gateway,      // a dependency answered with garbage
  config,           // configuration is invalid
  internal,
};

std::string_view to_string(Errc c) noexcept;

struct Error {
  Errc code = Errc::internal;
  std::string message;  // what went wrong and what to do next; never a secret
};

template <class T = void>
using Result = boost::system::result<T, Error>;

inline Error make_error(Errc c, std::string msg) { return Error{c, std::move(msg)}; }

}  // namespace nbhub

// boost::system::result needs to know how to throw our error when .value() is misused.
namespace nbhub {
[[noreturn]] void throw_exception_from_error(Error const& e, boost::source_location const& loc);
}
