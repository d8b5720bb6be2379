#include "output.h"

#include <algorithm>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace leadrelay::cli {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

std::string ScalarText(const Message& m, const FieldDescriptor* f, int index) {
  const auto* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(m, f, index)
                              : r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(m, f, index)
                              : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f))
                 ? "true"
                 : "false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return (rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f))->name();
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& sub =
          rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f);
      if (sub.GetDescriptor() == google::protobuf::Timestamp::descriptor()) {
        const auto& ts = static_cast<const google::protobuf::Timestamp&>(sub);
        if (ts.seconds() == 0 && ts.nanos() == 0) return "";
        google::protobuf::Timestamp whole = ts;
        whole.set_nanos(0);
        return google::protobuf::util::TimeUtil::ToString(whole);
      }
      return ToJson(sub);
    }
    default:
      return "";
  }
}

void Flatten(const Message& m, const std::string& prefix,
             std::vector<std::vector<std::string>>& rows) {
  std::vector<const FieldDescriptor*> fields;
  m.GetReflection()->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    const std::string name = absl::StrCat(prefix, f->name());
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
        !f->is_repeated() &&
        f->message_type() != google::protobuf::Timestamp::descriptor()) {
      Flatten(m.GetReflection()->GetMessage(m, f), name + ".", rows);
      continue;
    }
    rows.push_back({name, FieldText(m, f->name())});
  }
}

}  // namespace

std::string ToJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

std::string FieldText(const Message& message, const std::string& path) {
  const Message* m = &message;
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(parts[i]);
    if (f == nullptr) return "";
    if (i + 1 < parts.size()) {
      if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated())
        return "";
      m = &m->GetReflection()->GetMessage(*m, f);
      continue;
    }
    if (f->is_repeated()) {
      std::vector<std::string> items;
      for (int k = 0; k < m->GetReflection()->FieldSize(*m, f); ++k) {
        items.push_back(ScalarText(*m, f, k));
      }
      return absl::StrJoin(items, ",");
    }
    return ScalarText(*m, f, 0);
  }
  return "";
}

std::string RenderTable(const std::vector<std::string>& titles,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const std::string& t : titles) widths.push_back(t.size());
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], std::min<size_t>(row[c].size(), 60));
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < widths.size(); ++c) {
      std::string cell = c < cells.size() ? cells[c] : "";
      if (cell.size() > 60) cell = cell.substr(0, 57) + "...";
      out += cell;
      if (c + 1 < widths.size())
        out += std::string(widths[c] - cell.size() + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(titles);
  for (const auto& row : rows) out += line(row);
  return out;
}

void PrintObject(const CliContext& ctx, const Message& message) {
  if (ctx.json()) {
    std::cout << ToJson(message) << std::endl;
    return;
  }
  std::vector<std::vector<std::string>> rows;
  Flatten(message, "", rows);
  size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row[0].size());
  for (const auto& row : rows) {
    std::cout << row[0] << std::string(width - row[0].size() + 2, ' ') << row[1]
              << "\n";
  }
  std::cout << std::flush;
}

void PrintList(const CliContext& ctx, const Message& response,
               const std::string& list_field,
               const std::vector<Column>& columns, const std::string& footer) {
  if (ctx.json()) {
    std::cout << ToJson(response) << std::endl;
    return;
  }
  const FieldDescriptor* f =
      response.GetDescriptor()->FindFieldByName(list_field);
  const auto* r = response.GetReflection();
  std::vector<std::string> titles;
  for (const Column& c : columns) titles.push_back(c.title);
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; f != nullptr && i < r->FieldSize(response, f); ++i) {
    const Message& item = r->GetRepeatedMessage(response, f, i);
    std::vector<std::string> row;
    for (const Column& c : columns) row.push_back(FieldText(item, c.path));
    rows.push_back(std::move(row));
  }
  std::cout << RenderTable(titles, rows);
  if (!footer.empty()) std::cout << footer << "\n";
  std::cout << std::flush;
}

}  // namespace leadrelay::cli
