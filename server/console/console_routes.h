// Answers requests for the web console under /console/ from the embedded
// files, with the console's strict security headers. Pure logic: no I/O.
#ifndef LEADRELAY_SERVER_CONSOLE_CONSOLE_ROUTES_H_
#define LEADRELAY_SERVER_CONSOLE_CONSOLE_ROUTES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace leadrelay::console {

// Where the console is mounted (a prefix route: ends with '/').
inline constexpr absl::string_view kConsolePrefix = "/console/";

struct ConsoleReply {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// The Content-Security-Policy every console answer carries: only the
// console's own scripts, styles and API calls; never framed.
absl::string_view ConsoleContentSecurityPolicy();

// Content type by file extension ("app.js" -> "text/javascript; ...").
absl::string_view ConsoleContentType(absl::string_view file_name);

// `method` and `path` (without the query string) of a request whose path
// starts with kConsolePrefix. "/console/" serves index.html; GET and HEAD
// only (405 otherwise); an unknown file is 404.
ConsoleReply ServeConsole(absl::string_view method, absl::string_view path);

}  // namespace leadrelay::console

#endif  // LEADRELAY_SERVER_CONSOLE_CONSOLE_ROUTES_H_
