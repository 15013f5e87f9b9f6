#pragma once
// Sharing pages (share_pages.cpp): /hub/accept-share and the home page's sharing forms.
#include <boost/asio/awaitable.hpp>

#include <string>

#include "http/router.hpp"
#include "web/request_auth.hpp"
#include "web/server_routes.hpp"

namespace nbhub::web {

void add_share_pages(http::Router& router, ServerRouteDeps const& deps);
// The home page's "Share your server" and "Servers shared with you" sections for `c`; "" when
// there is nothing to show or the store cannot be read (logged).
boost::asio::awaitable<std::string> share_home_section(ServerRouteDeps const& deps, Caller c, std::string xsrf);

}  // namespace nbhub::web
