#include "leadrelay/lead_rows.h"

#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"

namespace leadrelay::import {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// The field path ("linkedin.headline") as descriptors, or an error.
absl::StatusOr<std::vector<const FieldDescriptor*>> ResolveColumn(
    absl::string_view column) {
  std::vector<const FieldDescriptor*> path;
  const google::protobuf::Descriptor* type = v1::Lead::descriptor();
  std::vector<std::string> parts = absl::StrSplit(column, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const FieldDescriptor* field =
        type == nullptr ? nullptr : type->FindFieldByName(parts[i]);
    if (field == nullptr || field->is_repeated()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown column \"", column, "\""));
    }
    const bool last = i + 1 == parts.size();
    const bool scalar = field->cpp_type() == FieldDescriptor::CPPTYPE_STRING ||
                        field->cpp_type() == FieldDescriptor::CPPTYPE_INT32;
    if (last != scalar) {
      return absl::InvalidArgumentError(absl::StrCat(
          "column \"", column, "\" is not a text or number field"));
    }
    path.push_back(field);
    type = last ? nullptr : field->message_type();
  }
  return path;
}

// Sets the field at `path` of `lead` from `text`.
absl::Status SetField(const std::vector<const FieldDescriptor*>& path,
                      absl::string_view column, absl::string_view text,
                      v1::Lead& lead) {
  Message* message = &lead;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    message = message->GetReflection()->MutableMessage(message, path[i]);
  }
  const FieldDescriptor* field = path.back();
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    message->GetReflection()->SetString(message, field, std::string(text));
    return absl::OkStatus();
  }
  int32_t number = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &number)) {
    return absl::InvalidArgumentError(
        absl::StrCat(column, ": \"", text, "\" is not a whole number"));
  }
  message->GetReflection()->SetInt32(message, field, number);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LeadRow>> ParseCsvLeads(absl::string_view content) {
  absl::StatusOr<std::vector<CsvRecord>> records = ParseCsv(content);
  if (!records.ok()) return records.status();
  if (records->empty()) {
    return absl::InvalidArgumentError("the file has no header row");
  }
  const CsvRecord& header = records->front();
  std::vector<std::vector<const FieldDescriptor*>> columns;
  for (const std::string& name : header.fields) {
    absl::StatusOr<std::vector<const FieldDescriptor*>> path =
        ResolveColumn(absl::StripAsciiWhitespace(name));
    if (!path.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", header.line, ": ", path.status().message()));
    }
    columns.push_back(*std::move(path));
  }
  std::vector<LeadRow> rows;
  for (size_t r = 1; r < records->size(); ++r) {
    const CsvRecord& record = (*records)[r];
    LeadRow row;
    row.line = record.line;
    row.raw = record.raw;
    if (record.fields.size() != columns.size()) {
      row.error = absl::StrCat("the row has ", record.fields.size(),
                               " fields, the header ", columns.size());
    } else {
      for (size_t c = 0; c < columns.size() && row.error.empty(); ++c) {
        if (record.fields[c].empty()) continue;
        absl::Status set =
            SetField(columns[c], header.fields[c], record.fields[c], row.lead);
        if (!set.ok()) row.error = std::string(set.message());
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<LeadRow> ParseNdjsonLeads(absl::string_view content) {
  std::vector<LeadRow> rows;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_number;
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty()) continue;
    LeadRow row;
    row.line = line_number;
    row.raw = std::string(text);
    auto status = google::protobuf::util::JsonStringToMessage(std::string(text),
                                                              &row.lead);
    if (!status.ok()) {
      row.error = absl::StrCat("not a lead JSON object: ",
                               status.message().as_string());
      row.lead.Clear();
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

RowFormat DetectFormat(absl::string_view path, absl::string_view content) {
  if (absl::EndsWithIgnoreCase(path, ".ndjson") ||
      absl::EndsWithIgnoreCase(path, ".jsonl")) {
    return RowFormat::kNdjson;
  }
  if (absl::EndsWithIgnoreCase(path, ".csv")) return RowFormat::kCsv;
  absl::string_view start = absl::StripLeadingAsciiWhitespace(content);
  return !start.empty() && start.front() == '{' ? RowFormat::kNdjson
                                                : RowFormat::kCsv;
}

absl::StatusOr<std::vector<CsvRecord>> ParseCsv(absl::string_view content) {
  std::vector<CsvRecord> records;
  CsvRecord current;
  std::string field;
  bool in_quotes = false;
  bool field_started = false;  // the record has at least one character
  int line = 1;
  size_t record_start = 0;
  auto end_record = [&](size_t end) {
    current.fields.push_back(std::move(field));
    field.clear();
    const bool blank = current.fields.size() == 1 &&
                       current.fields[0].empty() && !field_started;
    if (!blank) {
      absl::string_view raw = content.substr(record_start, end - record_start);
      if (absl::EndsWith(raw, "\r")) raw.remove_suffix(1);
      current.raw = std::string(raw);
      records.push_back(std::move(current));
    }
    current = CsvRecord();
    field_started = false;
  };
  for (size_t i = 0; i < content.size(); ++i) {
    const char c = content[i];
    if (!field_started && current.fields.empty() && field.empty()) {
      current.line = line;
      record_start = i;
    }
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < content.size() && content[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_quotes = true;
        field_started = true;
        break;
      case ',':
        current.fields.push_back(std::move(field));
        field.clear();
        field_started = true;
        break;
      case '\r':
        break;
      case '\n':
        end_record(i);
        ++line;
        break;
      default:
        field += c;
        field_started = true;
    }
  }
  if (in_quotes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "line ", current.line, ": a quoted field is never closed"));
  }
  if (field_started || !field.empty() || !current.fields.empty()) {
    end_record(content.size());
  }
  return records;
}

absl::StatusOr<std::vector<LeadRow>> ParseLeadRows(absl::string_view content,
                                                   RowFormat format) {
  if (format == RowFormat::kNdjson) return ParseNdjsonLeads(content);
  return ParseCsvLeads(content);
}

std::string DerivedExternalId(const v1::Lead& lead) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    lead.SerializeToCodedStream(&out);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         digest);
  return absl::StrCat("imp_", absl::BytesToHexString(absl::string_view(
                                  reinterpret_cast<char*>(digest), 16)));
}

}  // namespace leadrelay::import
