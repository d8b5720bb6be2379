// Searches every text-like column of every table of the test database for
// given strings: what an erasure test uses to show that a person's data is
// gone from everywhere, not only from the tables the code knows about.
#ifndef LEADRELAY_TESTS_DELIVERY_COLUMN_SCAN_H_
#define LEADRELAY_TESTS_DELIVERY_COLUMN_SCAN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "support/postgres.h"

namespace leadrelay::dtest {

// "table.column" for every text, varchar, char, json, jsonb, bytea and
// text-array column of the current schema (read from information_schema,
// so tables added later are covered too).
absl::StatusOr<std::vector<std::string>> TextLikeColumns(
    itest::PgConnection& db);

// "table.column: needle" for every column holding any of `needles`
// (case-insensitive in text; byte-exact UTF-8 in bytea).
absl::StatusOr<std::vector<std::string>> FindInEveryColumn(
    itest::PgConnection& db, const std::vector<std::string>& needles);

// `value` and the forms a JSON encoder may give it: non-ASCII characters as
// \uXXXX (either case of hex), and "+", "@", "<", ">", "&" escaped.
std::vector<std::string> JsonForms(const std::string& value);

}  // namespace leadrelay::dtest

#endif  // LEADRELAY_TESTS_DELIVERY_COLUMN_SCAN_H_
