#pragma once
// Server-rendered pages: one layout, small page functions, everything escaped. No front-end
// build step; the stylesheet is a static file so the CSP can forbid inline styles.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nbhub::web {

std::string escape(std::string_view s);  // HTML text and attribute values

struct PageUser {
  std::string name;
  bool admin = false;
};

struct Page {
  std::string title;
  std::string body_html;              // already escaped/assembled
  std::optional<PageUser> user;       // shows the name, admin mark and sign-out link
  std::string base_url = "/";
};

std::string render(Page const& p);

struct LoginButton {
  std::string label;  // "Sign in with Unity Common Services"
  std::string href;
};
// A username/password form (kind = "dummy" or "shared-password"), with JupyterHub's field names and ids
// (username_input, password_input, login_submit) so tools that fill its page fill ours.
struct LoginForm {
  std::string action;                  // POST target, with ?next= when there is one
  std::string xsrf;                    // hidden `_xsrf`
  std::vector<std::string> providers;  // several password providers: a choice; else empty
  std::string username;                // refilled after a failed attempt
};
std::string login_body(std::vector<LoginButton> const& buttons, std::string_view notice,
                       LoginForm const* form = nullptr);
std::string home_body(PageUser const& u);
std::string error_body(unsigned status, std::string_view message, std::string_view retry_href,
                       std::string_view retry_label);
std::string logged_out_body(std::string_view login_href);

std::string_view stylesheet();

}  // namespace nbhub::web
