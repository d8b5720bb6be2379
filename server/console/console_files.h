// The web console's static files (server/console/www), embedded at build time
// by embed_console.cmake.
#ifndef LEADRELAY_SERVER_CONSOLE_CONSOLE_FILES_H_
#define LEADRELAY_SERVER_CONSOLE_CONSOLE_FILES_H_

namespace leadrelay::console {

struct ConsoleFile {
  const char* path;  // relative to www/, e.g. "app.js"
  const char* body;
};

extern const ConsoleFile kConsoleFiles[];
extern const int kConsoleFileCount;

}  // namespace leadrelay::console

#endif  // LEADRELAY_SERVER_CONSOLE_CONSOLE_FILES_H_
