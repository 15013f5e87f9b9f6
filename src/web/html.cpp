#include "web/html.hpp"

#include <fmt/format.h>

#include "core/html_escape.hpp"

namespace nbhub::web {

std::string escape(std::string_view s) { return html_escape(s); }

std::string render(Page const& p) {
  std::string nav;
  if (p.user) {
    nav = fmt::format(
        R"(<nav aria-label="Account"><a href="{0}hub/home">Home</a><a href="{0}hub/token">Token</a>{3}<span class="who">{1}{2}</span><a href="{0}hub/logout">Sign out</a></nav>)",
        escape(p.base_url), escape(p.user->name),
        p.user->admin ? R"( <span class="badge" title="Administrator">admin</span>)" : "",
        p.user->admin ? fmt::format(R"(<a href="{}hub/admin">Admin</a>)", escape(p.base_url)) : std::string{});
  }
  return fmt::format(R"(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{0} · nbhub</title>
<link rel="stylesheet" href="{1}hub/static/nbhub.css">
</head>
<body>
<header><a class="brand" href="{1}hub/">nbhub</a>{2}</header>
<main id="main">
{3}
</main>
</body>
</html>
)",
                     escape(p.title), escape(p.base_url), nav, p.body_html);
}

std::string login_body(std::vector<LoginButton> const& buttons, std::string_view notice,
                       LoginForm const* form) {
  std::string out = R"(<section class="card narrow"><h1>Sign in</h1>)";
  if (!notice.empty()) out += fmt::format(R"(<p class="notice" role="status">{}</p>)", escape(notice));
  if (form) {
    out += fmt::format(
        R"(<form class="stack" method="post" action="{}"><input type="hidden" name="_xsrf" value="{}">)",
        escape(form->action), escape(form->xsrf));
    if (!form->providers.empty()) {
      out += R"(<label for="provider_input">Sign in with</label><select id="provider_input" name="provider">)";
      for (auto const& p : form->providers)
        out += fmt::format(R"(<option value="{0}">{0}</option>)", escape(p));
      out += "</select>";
    }
    out += fmt::format(
        R"(<label for="username_input">Username</label>)"
        R"(<input id="username_input" name="username" type="text" autocomplete="username" autocapitalize="off" autocorrect="off" spellcheck="false" required autofocus value="{}">)"
        R"(<label for="password_input">Password</label>)"
        R"(<input id="password_input" name="password" type="password" autocomplete="current-password">)"
        R"(<button id="login_submit" class="button primary" type="submit">Sign in</button></form>)",
        escape(form->username));
  }
  if (buttons.empty() && !form)
    out += "<p>No sign-in provider is configured. Ask your hub administrator to add one to the configuration.</p>";
  for (auto const& b : buttons)
    out += fmt::format(R"(<a class="button primary" href="{}">{}</a>)", escape(b.href), escape(b.label));
  out += "</section>";
  return out;
}

std::string home_body(PageUser const& u) {
  return fmt::format(
      R"(<section class="card"><h1>Welcome, {}</h1><p>You are signed in{}.</p>)"
      R"(<p class="muted">Your notebook server controls appear here once a spawner is configured.</p></section>)",
      escape(u.name), u.admin ? " as an administrator" : "");
}

std::string error_body(unsigned status, std::string_view message, std::string_view retry_href,
                       std::string_view retry_label) {
  auto out = fmt::format(R"(<section class="card narrow error" role="alert"><h1>{}</h1><p>{}</p>)",
                         status == 403 ? "Not allowed" : status >= 500 ? "Something went wrong" : "Sign-in problem",
                         escape(message));
  if (!retry_href.empty())
    out += fmt::format(R"(<a class="button primary" href="{}">{}</a>)", escape(retry_href), escape(retry_label));
  out += fmt::format(R"(<p class="muted">Error {}</p></section>)", status);
  return out;
}

std::string logged_out_body(std::string_view login_href) {
  return fmt::format(R"(<section class="card narrow"><h1>You have signed out</h1>)"
                     R"(<a class="button primary" href="{}">Sign in again</a></section>)",
                     escape(login_href));
}

std::string_view stylesheet() {
  return R"(:root{--fg:#1d232a;--muted:#5b6570;--bg:#f5f7f9;--card:#fff;--accent:#0b5cad;--accent-fg:#fff;--err:#a4161a;--border:#d9dee3}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;align-items:center;justify-content:space-between;gap:1rem;padding:.75rem 1.25rem;background:var(--card);border-bottom:1px solid var(--border);flex-wrap:wrap}
.brand{font-weight:700;font-size:1.2rem;color:var(--fg);text-decoration:none}
nav{display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
nav a{color:var(--accent)}
.who{font-weight:600}
.badge{display:inline-block;font-size:.75rem;font-weight:600;padding:.1rem .45rem;border-radius:.6rem;background:#e7f0fa;color:var(--accent);vertical-align:middle}
main{max-width:60rem;margin:2rem auto;padding:0 1rem}
.card{background:var(--card);border:1px solid var(--border);border-radius:.5rem;padding:1.5rem}
.narrow{max-width:26rem;margin:0 auto}
h1{font-size:1.5rem;margin:0 0 1rem}
.button{display:block;text-align:center;padding:.7rem 1rem;border-radius:.35rem;border:1px solid var(--accent);color:var(--accent);text-decoration:none;font-weight:600;margin:.6rem 0}
.button.primary{background:var(--accent);color:var(--accent-fg)}
.button:focus-visible,a:focus-visible{outline:3px solid #f0b400;outline-offset:2px}
.muted{color:var(--muted)}
.notice{background:#fff7e0;border:1px solid #f0d58a;padding:.6rem .8rem;border-radius:.35rem}
.error h1{color:var(--err)}
.card+.card{margin-top:1.25rem}
.card{overflow-x:auto;min-width:0}
h2{font-size:1.2rem;margin:0 0 .75rem}
label{display:block;font-weight:600;margin:.6rem 0 .25rem}
input[type=text],input[type=password],input[type=search],select,textarea,input.token{width:100%;padding:.5rem .6rem;border:1px solid var(--border);border-radius:.35rem;font:inherit;background:#fff}
input:focus-visible,select:focus-visible,textarea:focus-visible,button:focus-visible{outline:3px solid #f0b400;outline-offset:1px}
label.check{display:flex;gap:.5rem;align-items:center;font-weight:400}
button.button{font:inherit;cursor:pointer;background:#fff;width:100%}
button.button.primary{background:var(--accent)}
.stack .button{width:auto;min-width:12rem}
form.inline{display:flex;gap:.5rem;align-items:flex-end;flex-wrap:wrap;margin-bottom:1rem}
form.inline label{flex-basis:100%;margin:0}
form.inline input{flex:1;min-width:10rem}
form.inline .button{width:auto;margin:0;padding:.5rem 1rem}
form.inline select{width:auto}
.table-wrap{overflow-x:auto;position:relative}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:.5rem .4rem;border-bottom:1px solid var(--border);vertical-align:top}
td.scopes{font-family:ui-monospace,monospace;font-size:.8rem;word-break:break-word;max-width:18rem}
td.actions>*{display:inline-block;margin:.1rem .15rem}
.table-wrap+form{margin-top:1rem}
.button.small{display:inline-block;width:auto;padding:.25rem .6rem;margin:0;font-size:.85rem}
.button.danger{border-color:var(--err);color:var(--err)}
.actions form{display:inline}
div.actions{display:flex;gap:.75rem;flex-wrap:wrap}
.pager{display:flex;gap:1rem;justify-content:flex-end;margin-top:.75rem}
fieldset.profiles{border:0;padding:0;margin:0 0 .5rem}
fieldset.profiles legend{font-weight:600;margin-bottom:.25rem}
.profile{display:grid;grid-template-columns:auto 1fr;column-gap:.6rem;align-items:start;border:1px solid var(--border);border-radius:.35rem;padding:.6rem .75rem;margin:.5rem 0}
.profile input[type=radio]{margin:.3rem 0 0}
.profile>label{margin:0}
.profile>label span{font-weight:400;color:var(--muted)}
.profile>label[for^=profile-option],.profile>select,.profile>input[type=text]{grid-column:2}
ul.groups{padding-left:1.2rem}
code{font-family:ui-monospace,monospace;background:#eef1f4;padding:0 .25rem;border-radius:.2rem}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);border:0}
@media (max-width:40rem){main{margin:1rem auto;padding:0 .5rem}.card{padding:1rem}th,td{padding:.4rem .25rem}}
)";
}

}  // namespace nbhub::web
