#pragma once
// The listener reads a request's head with no body limit (the proxy streams bodies of any size),
// then moves it into a bounded string_body parser for the hub's own routes. Beast compares a
// Content-Length with the limit only while it parses the head, so a limit set afterwards
// bounded chunked bodies alone: a Content-Length body of any size was read whole into memory,
// and string_body reserved the announced length before the first byte arrived. limit_body()
// checks the announced length too.
#include <boost/beast/http/error.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>

namespace nbhub::http {

// Sets `limit` on a parser whose head is done and sets `ec` to body_limit when its
// Content-Length already exceeds it.
template <class Parser>
void limit_body(Parser& p, std::uint64_t limit, boost::system::error_code& ec) {
  p.body_limit(limit);
  if (auto n = p.content_length(); n && *n > limit) ec = boost::beast::http::error::body_limit;
}

}  // namespace nbhub::http
