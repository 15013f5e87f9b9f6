#pragma once
// The handler of a plain-http port whose only job is to send browsers to https (the hub's
// redirect_port, configurable-http-proxy's --redirect-port): every request gets 301 to the
// same target on https. The host is public_url's when that is https, else the request's Host
// without its port; `https_port` is added unless it is 443.
#include <cstdint>
#include <string>

#include "http/message.hpp"

namespace nbhub::http {

Handler https_redirect(std::uint16_t https_port, std::string public_url);

}  // namespace nbhub::http
