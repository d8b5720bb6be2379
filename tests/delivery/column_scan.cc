#include "delivery/column_scan.h"

#include <cstdio>
#include <set>

#include "absl/strings/str_cat.h"

namespace leadrelay::dtest {
namespace {

enum class Kind { kText, kBytes, kBytesArray };

struct Column {
  std::string table;
  std::string name;
  Kind kind = Kind::kText;
};

absl::StatusOr<std::vector<Column>> Columns(itest::PgConnection& db) {
  absl::StatusOr<std::vector<std::vector<std::string>>> rows = db.Query(R"sql(
      SELECT c.table_name, c.column_name, c.data_type, c.udt_name
      FROM information_schema.columns c
      JOIN information_schema.tables t
        ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = current_schema()
        AND t.table_type = 'BASE TABLE'
        AND (c.data_type IN ('text', 'character varying', 'character',
                             'json', 'jsonb', 'bytea')
             OR (c.data_type = 'ARRAY'
                 AND c.udt_name IN ('_text', '_varchar', '_bytea')))
      ORDER BY 1, 2)sql");
  if (!rows.ok()) return rows.status();
  std::vector<Column> out;
  for (const auto& row : *rows) {
    Kind kind = row[2] == "bytea"    ? Kind::kBytes
                : row[3] == "_bytea" ? Kind::kBytesArray
                                     : Kind::kText;
    out.push_back({row[0], row[1], kind});
  }
  return out;
}

// UTF-8 to code points (the test's own strings are valid UTF-8).
std::vector<uint32_t> CodePoints(const std::string& s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    uint32_t cp = len == 1 ? c : c & (0xFF >> (len + 1));
    for (int k = 1; k < len && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

std::string Escaped(const std::string& value, bool upper_hex,
                    const std::string& also_escape) {
  std::string out;
  std::string utf8;
  size_t i = 0;
  for (uint32_t cp : CodePoints(value)) {
    unsigned char first = value[i];
    int len = first < 0x80 ? 1 : first < 0xE0 ? 2 : first < 0xF0 ? 3 : 4;
    utf8 = value.substr(i, len);
    i += len;
    if (cp < 0x80 &&
        also_escape.find(static_cast<char>(cp)) == std::string::npos) {
      out += utf8;
      continue;
    }
    char buf[16];
    std::snprintf(buf, sizeof(buf), upper_hex ? "\\u%04X" : "\\u%04x",
                  static_cast<unsigned>(cp));
    out += buf;
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> TextLikeColumns(
    itest::PgConnection& db) {
  absl::StatusOr<std::vector<Column>> columns = Columns(db);
  if (!columns.ok()) return columns.status();
  std::vector<std::string> out;
  for (const Column& c : *columns) out.push_back(c.table + "." + c.name);
  return out;
}

absl::StatusOr<std::vector<std::string>> FindInEveryColumn(
    itest::PgConnection& db, const std::vector<std::string>& needles) {
  absl::StatusOr<std::vector<Column>> columns = Columns(db);
  if (!columns.ok()) return columns.status();
  std::vector<std::string> hits;
  for (const Column& c : *columns) {
    // Identifiers come from the catalogue; quoted anyway.
    std::string column = absl::StrCat("\"", c.name, "\"");
    std::string match;
    if (c.kind == Kind::kBytes) {
      match =
          absl::StrCat("position(convert_to($1, 'UTF8') in ", column, ") > 0");
    } else if (c.kind == Kind::kBytesArray) {
      match = absl::StrCat("EXISTS (SELECT 1 FROM unnest(", column,
                           ") b WHERE position(convert_to($1, 'UTF8') in b) "
                           "> 0)");
    } else {
      match =
          absl::StrCat("position(lower($1) in lower(", column, "::text)) > 0");
    }
    std::string sql =
        absl::StrCat("SELECT count(*) FROM \"", c.table, "\" WHERE ", match);
    for (const std::string& needle : needles) {
      absl::StatusOr<int64_t> n = db.QueryInt(sql, {needle});
      if (!n.ok()) return n.status();
      if (*n > 0) {
        hits.push_back(absl::StrCat(c.table, ".", c.name, ": ", needle));
      }
    }
  }
  return hits;
}

std::vector<std::string> JsonForms(const std::string& value) {
  std::set<std::string> forms = {
      value, Escaped(value, false, ""), Escaped(value, true, ""),
      Escaped(value, false, "+@<>&"), Escaped(value, true, "+@<>&")};
  return {forms.begin(), forms.end()};
}

}  // namespace leadrelay::dtest
