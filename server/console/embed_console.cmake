# Writes OUT: a C++ file defining leadrelay::console::kConsoleFiles from the
# files under DIR (the web console), so the server binary is self-contained.
file(GLOB_RECURSE files RELATIVE ${DIR} "${DIR}/*")
list(SORT files)
set(body "")
set(count 0)
foreach(rel ${files})
  file(READ ${DIR}/${rel} text)
  string(FIND "${text}" ")lrweb\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${rel} contains the raw-string delimiter )lrweb\"")
  endif()
  string(APPEND body "    {\"${rel}\", R\"lrweb(${text})lrweb\"},\n")
  math(EXPR count "${count} + 1")
endforeach()
file(WRITE ${OUT}.tmp
"// Generated from server/console/www by embed_console.cmake.
#include \"console/console_files.h\"
namespace leadrelay::console {
const ConsoleFile kConsoleFiles[] = {
${body}};
const int kConsoleFileCount = ${count};
}  // namespace leadrelay::console
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
