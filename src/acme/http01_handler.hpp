#pragma once
// The route answering HTTP-01 validations: GET /.well-known/acme-challenge/{token} returns the
// key authorization as text/plain, 404 for an unknown token. Mount it on any plain-http
// listener the CA reaches on port 80 (ACME's own, or the TLS redirect port: there it must win
// over the redirect, since RFC 8555 §8.3 lets the CA follow redirects but only to http/https
// on ports 80/443).
#include "acme/challenges.hpp"
#include "http/router.hpp"

namespace nbhub::acme {

// `responder` must outlive the router.
void add_http01_route(http::Router& router, Http01Responder const& responder);
http::Handler http01_handler(Http01Responder const& responder);

}  // namespace nbhub::acme
