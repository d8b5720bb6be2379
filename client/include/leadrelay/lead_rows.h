// Rows of a lead import file, parsed into leads. Pure.
//  - CSV (RFC 4180) with a header row: each column names a Lead field
//    ("first_name", "score", "score_breakdown.phone_valid",
//    "linkedin.headline", ...); quoted cells may hold commas, quotes ("")
//    and line breaks; empty cells leave the field unset.
//  - NDJSON: one Lead JSON object per line (proto field names or
//    lowerCamelCase), blank lines skipped.
// A row that cannot be read is kept with its error, so the import can report
// it with its line number; a problem with the file itself (an unknown
// column, no header) fails the whole parse.
#ifndef LEADRELAY_CLIENT_LEAD_ROWS_H_
#define LEADRELAY_CLIENT_LEAD_ROWS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "leadrelay/v1/lead.pb.h"

namespace leadrelay::import {

enum class RowFormat { kCsv, kNdjson };

struct LeadRow {
  int line = 0;       // 1-based line where the row starts in the file
  std::string raw;    // the row's text as in the file
  v1::Lead lead;      // valid when error is empty
  std::string error;  // why the row could not be read
};

// NDJSON for *.ndjson / *.jsonl, or content whose first non-blank character
// is '{'; CSV otherwise.
RowFormat DetectFormat(absl::string_view path, absl::string_view content);

absl::StatusOr<std::vector<LeadRow>> ParseLeadRows(absl::string_view content,
                                                   RowFormat format);

// CSV records with their starting line numbers (exposed for tests).
struct CsvRecord {
  int line = 0;
  std::string raw;
  std::vector<std::string> fields;
};
absl::StatusOr<std::vector<CsvRecord>> ParseCsv(absl::string_view content);

// The external_id of a row that has none: "imp_" + a hash of the lead's
// content, so that importing the same file again finds the same leads.
std::string DerivedExternalId(const v1::Lead& lead);

}  // namespace leadrelay::import

#endif  // LEADRELAY_CLIENT_LEAD_ROWS_H_
