#pragma once
// Homes of their own for users whose servers run as nbhub's own user: LocalSpawner without
// run_as_system_user, JupyterHub's SimpleLocalProcessSpawner with its home_dir_template.
//
// What this gives: a server's file browser, working directory and HOME are the user's own
// private directory, and the hub's files (cookie secret, database, config, server logs) lie
// outside it, out of reach of the server's contents API. What it does not give: isolation
// between users. Every server runs under one uid, so code in a kernel can read what nbhub
// can, other users' homes included (docs/local-spawner.md).
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "spawn/spawner_config.hpp"

namespace nbhub::spawn {

// A name as part of a file name: bytes other than [A-Za-z0-9] and - _ @ + . become %XX
// (upper-case hex); '%' itself is escaped, so different names stay different, and '/' is, so
// the result is never more than one component. The server log names use it as it is
// (LocalSpawner::log_path: their '.log' suffix needs no leading-dot rule).
std::string escape_file_name(std::string_view name);

// The user name as one safe path component: escape_file_name, and a leading '.' escaped too,
// so ".", ".." and hidden names cannot come out.
// "alice@example.org" stays as it is; "jürgen" -> "j%C3%BCrgen"; "../x" -> "%2E.%2Fx".
std::string home_dir_name(std::string_view user);

// Errc::config unless `tmpl` is a usable spawner.home_dir_template: not empty, with
// {username} (else every user would share one home), no other {field} (JupyterHub formats
// the template with the user name only) and no ".." component.
Result<void> check_home_dir_template(std::string_view tmpl);

// The user's home: `tmpl` with {username} replaced by home_dir_name(user), absolute (a
// relative template is relative to nbhub's working directory) and normalized. Errc::config
// for an unusable template, or when the home is, or lies above, one of `hub_state`.
Result<std::string> home_dir_for(std::string_view tmpl, std::string const& user,
                                 std::vector<HubStatePath> const& hub_state);

// Errc::config when `dir` (absolute) is, or lies above, a path of `hub_state`; the message
// names `option` (the setting that chose `dir`), the hub's path and what it is.
Result<void> check_holds_no_hub_state(std::string const& dir,
                                      std::vector<HubStatePath> const& hub_state,
                                      std::string_view option, std::string const& user);

// Blocking. Creates `dir` (absolute) and its missing parents with mode 0700, or checks an
// existing one: a directory, not a symbolic link, owned by `uid`; group and other permission
// bits are taken away. Returns whether an existing mode was narrowed. Errc::config naming the
// path and what is wrong with it.
Result<bool> make_private_dir(std::string const& dir, uid_t uid);

}  // namespace nbhub::spawn
