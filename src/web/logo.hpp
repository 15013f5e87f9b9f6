#pragma once
// <base_url>hub/logo, as JupyterHub's LogoHandler: the image in the header of the hub's pages
// and of the notebook's (jupyterhub-singleuser links the hub's logo). nbhub's own mark, or the
// image `logo_file` names (JupyterHub.logo_file), read once at startup.
#include <string>

#include "core/result.hpp"
#include "http/router.hpp"

namespace nbhub::web {

struct Logo {
  std::string body;
  std::string content_type;  // "image/svg+xml", "image/png", ...
  std::string etag;          // strong, from the content: "\"<16 hex digits>\""
};

// nbhub's mark: a small SVG of our own.
Logo default_logo();

// `path` "" gives default_logo(). Otherwise the file's content, typed by its extension (.svg,
// .png, .jpg, .jpeg, .gif, .ico, .webp; any case). Errors (config) name the file and say why:
// missing, unreadable, empty, larger than 8 MiB, or an extension that is not an image.
Result<Logo> load_logo(std::string const& path);

// GET <base_url>hub/logo: the image with its type, an ETag (If-None-Match gives 304) and an
// hour of caching. A strict CSP keeps scripts in a custom SVG from running when it is opened
// on its own.
void add_logo_route(http::Router& router, std::string const& base_url, Logo logo);

}  // namespace nbhub::web
