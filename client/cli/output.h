// Printing API objects: JSON (proto field names) for scripts, aligned
// tables for people. Field paths are dotted proto field names.
#ifndef LEADRELAY_CLIENT_CLI_OUTPUT_H_
#define LEADRELAY_CLIENT_CLI_OUTPUT_H_

#include <string>
#include <vector>

#include "cli_context.h"
#include "google/protobuf/message.h"

namespace leadrelay::cli {

struct Column {
  std::string title;
  std::string path;  // e.g. "id", "linkedin.headline", "created_at"
};

// One-line JSON of a message.
std::string ToJson(const google::protobuf::Message& message);
// The field at `path` as text ("" when unset); timestamps as RFC 3339,
// repeated fields joined by ",".
std::string FieldText(const google::protobuf::Message& message,
                      const std::string& path);

// Prints `message`: JSON, or one "field  value" line per set field.
void PrintObject(const CliContext& ctx,
                 const google::protobuf::Message& message);
// Prints `response`: JSON, or a table of the messages in its repeated field
// `list_field` with `columns` (plus a footer line, when given).
void PrintList(const CliContext& ctx, const google::protobuf::Message& response,
               const std::string& list_field,
               const std::vector<Column>& columns,
               const std::string& footer = "");

// Renders rows as a table with a header line.
std::string RenderTable(const std::vector<std::string>& titles,
                        const std::vector<std::vector<std::string>>& rows);

}  // namespace leadrelay::cli

#endif  // LEADRELAY_CLIENT_CLI_OUTPUT_H_
