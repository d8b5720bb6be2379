// OpenAPI 3.0 document generated from the descriptors and the routes.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "gateway/http_mapping.h"
#include "gateway/transcoder.h"
#include "google/protobuf/descriptor.h"

namespace leadrelay::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

class OpenApiWriter {
 public:
  explicit OpenApiWriter(const Transcoder& t)
      : t_(t), options_(t.config().print_options) {}

  std::string Build() {
    std::map<std::string, std::vector<const Route*>> paths;
    for (const auto& route : t_.routes().routes()) {
      static const std::set<std::string> kStandard = {"GET", "PUT", "POST",
                                                      "DELETE", "PATCH"};
      if (!kStandard.count(route->http_method)) continue;
      paths[OpenApiPath(*route)].push_back(route.get());
    }
    std::string out =
        absl::StrCat("{\"openapi\":\"3.0.3\",\"info\":{\"title\":",
                     JsonQuote(absl::StrJoin(t_.config().services, ", ")),
                     ",\"version\":\"1\"},\"paths\":{");
    bool first_path = true;
    for (const auto& [path, routes] : paths) {
      absl::StrAppend(&out, first_path ? "" : ",", JsonQuote(path), ":{");
      first_path = false;
      bool first_op = true;
      for (const Route* route : routes) {
        absl::StrAppend(&out, first_op ? "" : ",",
                        JsonQuote(absl::AsciiStrToLower(route->http_method)),
                        ":", Operation(*route));
        first_op = false;
      }
      out += "}";
    }
    out += "},\"components\":{\"schemas\":{";
    out +=
        "\"Error\":{\"type\":\"object\",\"properties\":{"
        "\"code\":{\"type\":\"string\"},\"message\":{\"type\":\"string\"},"
        "\"retry_after_seconds\":{\"type\":\"integer\"}},"
        "\"required\":[\"code\",\"message\"]}";
    // Schemas are added while rendering; render until no new ones appear.
    std::set<std::string> done;
    while (true) {
      std::vector<const Descriptor*> todo;
      for (const auto& [name, d] : pending_) {
        if (!done.count(name)) todo.push_back(d);
      }
      if (todo.empty()) break;
      for (const Descriptor* d : todo) {
        done.insert(d->full_name());
        absl::StrAppend(&out, ",", JsonQuote(d->full_name()), ":",
                        MessageSchema(d));
      }
    }
    out += "}}}";
    return out;
  }

 private:
  std::string Name(const FieldDescriptor* f) const {
    return options_.preserve_proto_field_names ? f->name() : f->json_name();
  }

  static std::string Comment(const google::protobuf::SourceLocation& loc) {
    return std::string(absl::StripAsciiWhitespace(loc.leading_comments));
  }

  std::string OpenApiPath(const Route& route) const {
    const PathTemplate& p = route.path;
    std::vector<std::string> parts;
    size_t v = 0;
    for (size_t i = 0; i < p.segments.size(); ++i) {
      if (v < p.variables.size() &&
          static_cast<int>(i) == p.variables[v].start) {
        std::vector<std::string> names;
        for (const FieldDescriptor* f : route.variable_fields[v])
          names.push_back(Name(f));
        parts.push_back(absl::StrCat("{", absl::StrJoin(names, "."), "}"));
        i = p.variables[v].end - 1;
        ++v;
        continue;
      }
      const auto& seg = p.segments[i];
      parts.push_back(seg.kind == PathTemplate::Kind::kLiteral  ? seg.literal
                      : seg.kind == PathTemplate::Kind::kSingle ? "*"
                                                                : "**");
    }
    return absl::StrCat("/", absl::StrJoin(parts, "/"),
                        p.verb.empty() ? "" : ":", p.verb);
  }

  std::string OperationId(const google::protobuf::MethodDescriptor* method) {
    std::string id =
        absl::StrCat(method->service()->name(), "_", method->name());
    int n = ++operation_ids_[id];
    return n == 1 ? id : absl::StrCat(id, "_", n);
  }

  std::string Operation(const Route& route) {
    const auto* method = route.method;
    std::string out =
        absl::StrCat("{\"operationId\":", JsonQuote(OperationId(method)),
                     ",\"tags\":[", JsonQuote(method->service()->name()), "]");
    google::protobuf::SourceLocation loc;
    if (method->GetSourceLocation(&loc) && !Comment(loc).empty()) {
      absl::StrAppend(&out, ",\"description\":", JsonQuote(Comment(loc)));
    }
    std::vector<std::string> params;
    std::set<const FieldDescriptor*> bound;
    for (size_t i = 0; i < route.variable_fields.size(); ++i) {
      const FieldPath& fp = route.variable_fields[i];
      std::vector<std::string> names;
      for (const FieldDescriptor* f : fp) names.push_back(Name(f));
      bound.insert(fp.back());
      params.push_back(
          absl::StrCat("{\"name\":", JsonQuote(absl::StrJoin(names, ".")),
                       ",\"in\":\"path\",\"required\":true,\"schema\":",
                       FieldSchema(fp.back()), "}"));
    }
    if (route.body != "*") {
      const FieldDescriptor* body =
          route.body_field.empty() ? nullptr : route.body_field.front();
      QueryParams(method->input_type(), "", bound, body, 0, &params);
    }
    if (!params.empty()) {
      absl::StrAppend(&out, ",\"parameters\":[", absl::StrJoin(params, ","),
                      "]");
    }
    if (!route.body.empty()) {
      std::string schema = route.body == "*"
                               ? Ref(method->input_type())
                               : FieldSchema(route.body_field.back());
      absl::StrAppend(&out,
                      ",\"requestBody\":{\"required\":true,\"content\":{"
                      "\"application/json\":{\"schema\":",
                      schema, "}}}");
    }
    std::string response = route.response_body_field.empty()
                               ? Ref(method->output_type())
                               : FieldSchema(route.response_body_field.back());
    std::string content;
    if (method->server_streaming()) {
      content = absl::StrCat(
          "\"application/json\":{\"schema\":{\"type\":\"array\",\"items\":",
          response, "}},\"application/x-ndjson\":{\"schema\":", response,
          "},\"text/event-stream\":{\"schema\":{\"type\":\"string\"}}");
    } else {
      content =
          absl::StrCat("\"application/json\":{\"schema\":", response, "}");
    }
    absl::StrAppend(
        &out, ",\"responses\":{\"200\":{\"description\":\"OK\",\"content\":{",
        content,
        "}},\"default\":{\"description\":\"Error\",\"content\":{"
        "\"application/json\":{\"schema\":{\"$ref\":"
        "\"#/components/schemas/Error\"}}}}}}");
    return out;
  }

  void QueryParams(const Descriptor* d, const std::string& prefix,
                   const std::set<const FieldDescriptor*>& bound,
                   const FieldDescriptor* body, int depth,
                   std::vector<std::string>* params) {
    if (depth > 3) return;
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (bound.count(f) || (depth == 0 && f == body) || f->is_map()) continue;
      std::string name = prefix + Name(f);
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
          !IsScalarLike(f->message_type())) {
        if (!f->is_repeated()) {
          QueryParams(f->message_type(), name + ".", bound, body, depth + 1,
                      params);
        }
        continue;
      }
      std::string param =
          absl::StrCat("{\"name\":", JsonQuote(name),
                       ",\"in\":\"query\",\"schema\":", FieldSchema(f));
      google::protobuf::SourceLocation loc;
      if (f->GetSourceLocation(&loc) && !Comment(loc).empty()) {
        absl::StrAppend(&param, ",\"description\":", JsonQuote(Comment(loc)));
      }
      params->push_back(param + "}");
    }
  }

  static bool IsScalarLike(const Descriptor* d) {
    const std::string& n = d->full_name();
    return n == "google.protobuf.Timestamp" ||
           n == "google.protobuf.Duration" ||
           n == "google.protobuf.FieldMask" ||
           (d->file()->package() == "google.protobuf" &&
            absl::EndsWith(n, "Value") && n != "google.protobuf.Value" &&
            n != "google.protobuf.ListValue");
  }

  std::string Ref(const Descriptor* d) {
    if (d->full_name() == "google.protobuf.Empty")
      return "{\"type\":\"object\"}";
    pending_.emplace(d->full_name(), d);
    return absl::StrCat("{\"$ref\":\"#/components/schemas/", d->full_name(),
                        "\"}");
  }

  std::string MessageSchema(const Descriptor* d) {
    std::string out = "{\"type\":\"object\"";
    google::protobuf::SourceLocation loc;
    if (d->GetSourceLocation(&loc) && !Comment(loc).empty()) {
      absl::StrAppend(&out, ",\"description\":", JsonQuote(Comment(loc)));
    }
    out += ",\"properties\":{";
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      std::string schema = FieldSchema(f);
      if (f->GetSourceLocation(&loc) && !Comment(loc).empty() &&
          schema.rfind("{\"$ref\"", 0) != 0) {
        schema.pop_back();
        absl::StrAppend(&schema, ",\"description\":", JsonQuote(Comment(loc)),
                        "}");
      }
      absl::StrAppend(&out, i == 0 ? "" : ",", JsonQuote(Name(f)), ":", schema);
    }
    return out + "}}";
  }

  std::string FieldSchema(const FieldDescriptor* f) {
    if (f->is_map()) {
      return absl::StrCat("{\"type\":\"object\",\"additionalProperties\":",
                          FieldSchema(f->message_type()->map_value()), "}");
    }
    std::string single = SingleSchema(f);
    if (f->is_repeated()) {
      return absl::StrCat("{\"type\":\"array\",\"items\":", single, "}");
    }
    return single;
  }

  std::string SingleSchema(const FieldDescriptor* f) {
    switch (f->type()) {
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_SINT32:
      case FieldDescriptor::TYPE_SFIXED32:
        return "{\"type\":\"integer\",\"format\":\"int32\"}";
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_FIXED32:
        return "{\"type\":\"integer\",\"format\":\"int64\",\"minimum\":0}";
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_SFIXED64:
        return "{\"type\":\"string\",\"format\":\"int64\"}";
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_FIXED64:
        return "{\"type\":\"string\",\"format\":\"uint64\"}";
      case FieldDescriptor::TYPE_DOUBLE:
        return "{\"type\":\"number\",\"format\":\"double\"}";
      case FieldDescriptor::TYPE_FLOAT:
        return "{\"type\":\"number\",\"format\":\"float\"}";
      case FieldDescriptor::TYPE_BOOL:
        return "{\"type\":\"boolean\"}";
      case FieldDescriptor::TYPE_STRING:
        return "{\"type\":\"string\"}";
      case FieldDescriptor::TYPE_BYTES:
        return "{\"type\":\"string\",\"format\":\"byte\"}";
      case FieldDescriptor::TYPE_ENUM: {
        if (options_.always_print_enums_as_ints)
          return "{\"type\":\"integer\"}";
        std::vector<std::string> names;
        for (int i = 0; i < f->enum_type()->value_count(); ++i) {
          names.push_back(JsonQuote(f->enum_type()->value(i)->name()));
        }
        return absl::StrCat("{\"type\":\"string\",\"enum\":[",
                            absl::StrJoin(names, ","), "]}");
      }
      default:
        break;
    }
    const Descriptor* d = f->message_type();
    const std::string& n = d->full_name();
    if (n == "google.protobuf.Timestamp") {
      return "{\"type\":\"string\",\"format\":\"date-time\"}";
    }
    if (n == "google.protobuf.Duration" || n == "google.protobuf.FieldMask") {
      return "{\"type\":\"string\"}";
    }
    if (n == "google.protobuf.Struct" || n == "google.protobuf.Any") {
      return "{\"type\":\"object\"}";
    }
    if (n == "google.protobuf.Value") return "{}";
    if (n == "google.protobuf.ListValue")
      return "{\"type\":\"array\",\"items\":{}}";
    if (IsScalarLike(d)) return SingleSchema(d->FindFieldByNumber(1));
    return Ref(d);
  }

  const Transcoder& t_;
  const PrintOptions& options_;
  std::map<std::string, const Descriptor*> pending_;
  std::map<std::string, int> operation_ids_;
};

}  // namespace

std::string BuildOpenApiJson(const Transcoder& transcoder) {
  return OpenApiWriter(transcoder).Build();
}

}  // namespace leadrelay::gateway
