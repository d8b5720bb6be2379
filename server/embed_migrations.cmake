# Writes OUT: a C++ file defining leadrelay::store::kMigrations from the
# NNNN_name.sql files in DIR, sorted by name.
file(GLOB files "${DIR}/*.sql")
list(SORT files)
set(body "")
set(count 0)
foreach(f ${files})
  get_filename_component(fname ${f} NAME_WE)
  string(REGEX MATCH "^([0-9]+)_(.*)$" _ ${fname})
  set(version ${CMAKE_MATCH_1})
  set(name ${CMAKE_MATCH_2})
  string(REGEX REPLACE "^0+" "" version "${version}")
  file(READ ${f} sql)
  string(APPEND body "    {${version}, \"${name}\", R\"lrsql(${sql})lrsql\"},\n")
  math(EXPR count "${count} + 1")
endforeach()
file(WRITE ${OUT}.tmp
"// Generated from server/migrations by embed_migrations.cmake.
#include \"store/migrations.h\"
namespace leadrelay::store {
const Migration kMigrations[] = {
${body}};
const int kMigrationCount = ${count};
}  // namespace leadrelay::store
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
