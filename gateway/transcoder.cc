#include "gateway/transcoder.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gateway/http_mapping.h"
#include "gateway/json_text.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"
#include "google/protobuf/wire_format_lite.h"

namespace leadrelay::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr absl::string_view kTypeUrlPrefix = "type.googleapis.com";

bool IsWrapperType(absl::string_view name) {
  return name == "google.protobuf.DoubleValue" ||
         name == "google.protobuf.FloatValue" ||
         name == "google.protobuf.Int64Value" ||
         name == "google.protobuf.UInt64Value" ||
         name == "google.protobuf.Int32Value" ||
         name == "google.protobuf.UInt32Value" ||
         name == "google.protobuf.BoolValue" ||
         name == "google.protobuf.StringValue" ||
         name == "google.protobuf.BytesValue";
}

bool IsStringFormattedType(absl::string_view name) {
  return name == "google.protobuf.Timestamp" ||
         name == "google.protobuf.Duration" ||
         name == "google.protobuf.FieldMask";
}

bool IsSingularMessage(const FieldDescriptor* f) {
  return f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated();
}

bool IsPrefix(const FieldPath& prefix, const FieldPath& path) {
  if (prefix.size() > path.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (prefix[i] != path[i]) return false;
  }
  return true;
}

// The JSON of a field's default value, for a response_body that is unset.
std::string DefaultJson(const FieldDescriptor* f, bool enums_as_ints) {
  if (f->is_map()) return "{}";
  if (f->is_repeated()) return "[]";
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return "\"\"";
    case FieldDescriptor::CPPTYPE_BOOL:
      return "false";
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT64:
      return "\"0\"";
    case FieldDescriptor::CPPTYPE_ENUM:
      return enums_as_ints ? "0" : JsonQuote(f->enum_type()->value(0)->name());
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return "{}";
    default:
      return "0";
  }
}

google::protobuf::util::JsonPrintOptions PrintOptionsOf(const PrintOptions& o) {
  google::protobuf::util::JsonPrintOptions p;
  p.add_whitespace = o.add_whitespace;
  p.always_print_primitive_fields = o.always_print_primitive_fields;
  p.always_print_enums_as_ints = o.always_print_enums_as_ints;
  p.preserve_proto_field_names = o.preserve_proto_field_names;
  return p;
}

// True when `message` is a sequence of complete protobuf fields.
bool IsWellFramedMessage(absl::string_view message) {
  google::protobuf::io::CodedInputStream input(
      reinterpret_cast<const uint8_t*>(message.data()),
      static_cast<int>(message.size()));
  return google::protobuf::internal::WireFormatLite::SkipMessage(&input) &&
         input.ConsumedEntireMessage() &&
         input.CurrentPosition() == static_cast<int>(message.size());
}

}  // namespace

// ---------------------------------------------------------------------------
// Stream framing.

StreamFraming ChooseStreamFraming(const PrintOptions& options,
                                  absl::string_view accept_header) {
  // An explicit Accept wins over the configured default.
  const std::string accept = absl::AsciiStrToLower(accept_header);
  if (absl::StrContains(accept, "text/event-stream")) {
    return StreamFraming::kServerSentEvents;
  }
  if (absl::StrContains(accept, "application/x-ndjson")) {
    return StreamFraming::kNewlineDelimited;
  }
  if (options.stream_sse_style_delimited)
    return StreamFraming::kServerSentEvents;
  if (options.stream_newline_delimited) return StreamFraming::kNewlineDelimited;
  return StreamFraming::kJsonArray;
}

absl::string_view StreamContentType(StreamFraming framing) {
  switch (framing) {
    case StreamFraming::kNewlineDelimited:
      return "application/x-ndjson";
    case StreamFraming::kServerSentEvents:
      return "text/event-stream";
    default:
      return "application/json";
  }
}

std::string FrameStreamMessage(StreamFraming framing, absl::string_view json,
                               bool first) {
  switch (framing) {
    case StreamFraming::kNewlineDelimited: {
      std::string line = absl::StrReplaceAll(json, {{"\n", ""}});
      line.push_back('\n');
      return line;
    }
    case StreamFraming::kServerSentEvents: {
      std::string event;
      for (absl::string_view line :
           absl::StrSplit(json, '\n', absl::SkipEmpty())) {
        absl::StrAppend(&event, "data: ", line, "\n");
      }
      event.push_back('\n');
      return event;
    }
    default:
      return absl::StrCat(first ? "[" : ",", json);
  }
}

std::string FrameStreamEnd(StreamFraming framing, int sent,
                           const std::optional<std::string>& error_json) {
  std::string error =
      error_json ? absl::StrCat("{\"error\":", *error_json, "}") : "";
  switch (framing) {
    case StreamFraming::kNewlineDelimited:
      return error.empty() ? "" : error + "\n";
    case StreamFraming::kServerSentEvents:
      return error.empty()
                 ? ""
                 : absl::StrCat("event: error\ndata: ", error, "\n\n");
    default:
      return absl::StrCat(sent == 0 ? "[" : "",
                          error.empty() ? "" : (sent == 0 ? "" : ","), error,
                          "]");
  }
}

// ---------------------------------------------------------------------------
// Transcoder.

Transcoder::~Transcoder() = default;

absl::StatusOr<std::unique_ptr<Transcoder>> Transcoder::Create(
    const GatewayConfig& config) {
  std::unique_ptr<Transcoder> t(new Transcoder());
  t->config_ = config;
  std::string bytes = config.proto_descriptor_bin;
  if (bytes.empty()) {
    if (config.proto_descriptor.empty()) {
      return absl::InvalidArgumentError(
          "no proto_descriptor (descriptor set path) configured");
    }
    std::ifstream in(config.proto_descriptor, std::ios::binary);
    if (!in) {
      return absl::NotFoundError(
          absl::StrCat("cannot read descriptor set ", config.proto_descriptor));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    bytes = ss.str();
  }
  google::protobuf::FileDescriptorSet set;
  if (!set.ParseFromString(bytes)) {
    return absl::InvalidArgumentError("the descriptor set does not parse");
  }
  if (config.services.empty()) {
    return absl::InvalidArgumentError("no services configured");
  }
  t->database_ = std::make_unique<google::protobuf::SimpleDescriptorDatabase>();
  for (const auto& file : set.file()) {
    if (!t->database_->Add(file)) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate or invalid file ", file.name()));
    }
  }
  t->pool_ =
      std::make_unique<google::protobuf::DescriptorPool>(t->database_.get());
  for (const auto& file : set.file()) {
    if (t->pool_->FindFileByName(file.name()) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("descriptor set: cannot build ", file.name()));
    }
  }
  t->resolver_.reset(google::protobuf::util::NewTypeResolverForDescriptorPool(
      std::string(kTypeUrlPrefix), t->pool_.get()));
  t->factory_ =
      std::make_unique<google::protobuf::DynamicMessageFactory>(t->pool_.get());
  auto routes =
      RouteTable::Build(*t->pool_, config.services, config.auto_mapping);
  if (!routes.ok()) return routes.status();
  t->routes_ = *std::move(routes);
  return t;
}

std::string Transcoder::TypeUrl(const Descriptor* d) const {
  return absl::StrCat(kTypeUrlPrefix, "/", d->full_name());
}

absl::StatusOr<std::string> Transcoder::BodyToBinary(
    const Route& route, absl::string_view body) const {
  absl::string_view trimmed = absl::StripAsciiWhitespace(body);
  if (trimmed.empty()) return std::string();
  google::protobuf::util::JsonParseOptions options;
  options.case_insensitive_enum_parsing = config_.case_insensitive_enum_parsing;
  auto parse = [&](const Descriptor* type,
                   absl::string_view json) -> absl::StatusOr<std::string> {
    std::string out;
    auto s = google::protobuf::util::JsonToBinaryString(
        resolver_.get(), TypeUrl(type),
        google::protobuf::StringPiece(json.data(), json.size()), &out, options);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid JSON body: ", s.message().ToString()));
    }
    return out;
  };
  if (route.body == "*") return parse(route.method->input_type(), trimmed);

  // body: "field.path": the JSON is that field's value; the nesting is
  // built with reflection and serialized once.
  const FieldPath& path = route.body_field;
  const FieldDescriptor* last = path.back();
  std::unique_ptr<Message> request(
      factory_->GetPrototype(route.method->input_type())->New());
  Message* parent = request.get();
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    parent = parent->GetReflection()->MutableMessage(parent, path[i],
                                                     factory_.get());
  }
  auto value = IsSingularMessage(last)
                   ? parse(last->message_type(), trimmed)
                   : parse(last->containing_type(),
                           absl::StrCat("{", JsonQuote(last->name()), ":",
                                        trimmed, "}"));
  if (!value.ok()) return value.status();
  Message* target = IsSingularMessage(last)
                        ? parent->GetReflection()->MutableMessage(
                              parent, last, factory_.get())
                        : parent;
  if (!target->MergeFromString(*value)) {
    return absl::InvalidArgumentError("invalid JSON body");
  }
  return request->SerializeAsString();
}

absl::Status Transcoder::SetField(Message* message, const FieldPath& path,
                                  absl::string_view value) const {
  Message* m = message;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    m = m->GetReflection()->MutableMessage(m, path[i], factory_.get());
  }
  const FieldDescriptor* f = path.back();
  const Reflection* r = m->GetReflection();
  const bool rep = f->is_repeated();
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value for ", f->name(), ": \"", value, "\""));
  };
  if (f->is_map()) {
    return absl::InvalidArgumentError(
        absl::StrCat(f->name(), " is a map and cannot be set from the URL"));
  }
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad();
      rep ? r->AddInt32(m, f, v) : r->SetInt32(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad();
      rep ? r->AddInt64(m, f, v) : r->SetInt64(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad();
      rep ? r->AddUInt32(m, f, v) : r->SetUInt32(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad();
      rep ? r->AddUInt64(m, f, v) : r->SetUInt64(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v;
      if (!absl::SimpleAtod(value, &v)) return bad();
      rep ? r->AddDouble(m, f, v) : r->SetDouble(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      float v;
      if (!absl::SimpleAtof(value, &v)) return bad();
      rep ? r->AddFloat(m, f, v) : r->SetFloat(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (value == "true" || value == "1") {
        v = true;
      } else if (value == "false" || value == "0") {
        v = false;
      } else {
        return bad();
      }
      rep ? r->AddBool(m, f, v) : r->SetBool(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      // A percent-escape such as %ff decodes to bytes that are no string.
      if (f->type() == FieldDescriptor::TYPE_STRING && !IsValidUtf8(value)) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid value for ", f->name(),
                         ": not valid UTF-8 once percent-decoded"));
      }
      std::string v(value);
      if (f->type() == FieldDescriptor::TYPE_BYTES &&
          !absl::Base64Unescape(value, &v) &&
          !absl::WebSafeBase64Unescape(value, &v)) {
        return bad();
      }
      rep ? r->AddString(m, f, std::move(v)) : r->SetString(m, f, std::move(v));
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* type = f->enum_type();
      const auto* ev = type->FindValueByName(std::string(value));
      if (ev == nullptr && config_.case_insensitive_enum_parsing) {
        for (int i = 0; i < type->value_count() && ev == nullptr; ++i) {
          if (absl::EqualsIgnoreCase(type->value(i)->name(), value)) {
            ev = type->value(i);
          }
        }
      }
      int number;
      if (ev != nullptr) {
        number = ev->number();
      } else if (!absl::SimpleAtoi(value, &number) ||
                 (type->FindValueByNumber(number) == nullptr &&
                  type->file()->syntax() ==
                      google::protobuf::FileDescriptor::SYNTAX_PROTO2)) {
        return bad();
      }
      rep ? r->AddEnumValue(m, f, number) : r->SetEnumValue(m, f, number);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const std::string& type = f->message_type()->full_name();
      if (!IsWrapperType(type) && !IsStringFormattedType(type)) {
        return absl::InvalidArgumentError(absl::StrCat(
            f->name(), " is a message and cannot be set from the URL"));
      }
      Message* sub = rep ? r->AddMessage(m, f, factory_.get())
                         : r->MutableMessage(m, f, factory_.get());
      if (IsWrapperType(type)) {
        return SetField(sub, {sub->GetDescriptor()->FindFieldByNumber(1)},
                        value);
      }
      std::string binary;
      auto s = google::protobuf::util::JsonToBinaryString(
          resolver_.get(), TypeUrl(f->message_type()), JsonQuote(value),
          &binary);
      if (!s.ok() || !sub->MergeFromString(binary)) return bad();
      break;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Transcoder::Call> Transcoder::TranscodeRequest(
    absl::string_view http_method, absl::string_view target,
    absl::string_view body, std::vector<std::string>* allowed) const {
  absl::string_view path = target;
  absl::string_view query;
  if (size_t hash = path.find('#'); hash != absl::string_view::npos) {
    path = path.substr(0, hash);
  }
  if (size_t q = path.find('?'); q != absl::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  auto match = routes_->Find(http_method, path, config_, allowed);
  if (!match) {
    return absl::NotFoundError(
        absl::StrCat("no route for ", http_method, " ", path));
  }
  const Route& route = *match->route;
  const Descriptor* input = route.method->input_type();

  Call call;
  call.route = &route;
  if (!route.body.empty()) {
    auto binary = BodyToBinary(route, body);
    if (!binary.ok()) return binary.status();
    call.message = *std::move(binary);
  }

  std::unique_ptr<Message> fields(factory_->GetPrototype(input)->New());
  for (absl::string_view param :
       absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(param, absl::MaxSplits('=', 1));
    std::string key = UrlUnescape(kv.first, UnescapeMode::kAll,
                                  config_.query_param_unescape_plus);
    std::string value = UrlUnescape(kv.second, UnescapeMode::kAll,
                                    config_.query_param_unescape_plus);
    bool ignored = false;
    for (const std::string& name : config_.ignored_query_parameters) {
      if (name == key) ignored = true;
    }
    if (ignored) continue;
    auto field = ResolveFieldPath(input, key);
    bool usable =
        field.ok() && route.body != "*" &&
        !(route.body_field.size() > 0 && (IsPrefix(route.body_field, *field) ||
                                          IsPrefix(*field, route.body_field)));
    if (!usable) {
      if (config_.ignore_unknown_query_parameters) continue;
      return absl::InvalidArgumentError(
          absl::StrCat("unknown query parameter \"", key, "\""));
    }
    if (auto s = SetField(fields.get(), *field, value); !s.ok()) return s;
  }
  // Path variables last: they win over a query parameter of the same name.
  for (size_t i = 0; i < match->bindings.size(); ++i) {
    if (auto s = SetField(fields.get(), route.variable_fields[i],
                          match->bindings[i].value);
        !s.ok()) {
      return s;
    }
  }
  if (config_.reject_binding_body_field_collisions && !call.message.empty()) {
    std::unique_ptr<Message> from_body(factory_->GetPrototype(input)->New());
    from_body->ParseFromString(call.message);
    for (const FieldPath& var : route.variable_fields) {
      const Message* m = from_body.get();
      bool set = true;
      for (const FieldDescriptor* f : var) {
        if (!m->GetReflection()->HasField(*m, f)) {
          set = false;
          break;
        }
        if (f != var.back()) m = &m->GetReflection()->GetMessage(*m, f);
      }
      if (set) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the body sets ", var.back()->name(), ", which the path binds"));
      }
    }
  }
  call.message += fields->SerializeAsString();
  return call;
}

absl::StatusOr<std::string> Transcoder::TranscodeResponse(
    const Route& route, absl::string_view message) const {
  auto options = PrintOptionsOf(config_.print_options);
  std::string json;
  auto print = [&](const Descriptor* type, const std::string& binary) {
    json.clear();
    auto s = google::protobuf::util::BinaryToJsonString(
        resolver_.get(), TypeUrl(type), binary, &json, options);
    return s.ok() ? absl::OkStatus()
                  : absl::InternalError(absl::StrCat(
                        "cannot print the response: ", s.message().ToString()));
  };
  // The JSON printer stops quietly at truncated input: check the framing.
  if (!IsWellFramedMessage(message)) {
    return absl::InternalError("the response message does not parse");
  }
  const FieldPath& path = route.response_body_field;
  if (path.empty()) {
    if (auto s = print(route.method->output_type(), std::string(message));
        !s.ok()) {
      return s;
    }
  } else {
    std::unique_ptr<Message> response(
        factory_->GetPrototype(route.method->output_type())->New());
    if (!response->ParseFromArray(message.data(),
                                  static_cast<int>(message.size()))) {
      return absl::InternalError("the response does not parse");
    }
    const Message* m = response.get();
    for (size_t i = 0; i + 1 < path.size(); ++i) {
      m = &m->GetReflection()->GetMessage(*m, path[i], factory_.get());
    }
    const FieldDescriptor* last = path.back();
    if (IsSingularMessage(last)) {
      const Message& sub =
          m->GetReflection()->GetMessage(*m, last, factory_.get());
      if (auto s = print(last->message_type(), sub.SerializeAsString());
          !s.ok()) {
        return s;
      }
    } else {
      std::unique_ptr<Message> holder(m->New());
      holder->CopyFrom(*m);
      const Descriptor* d = holder->GetDescriptor();
      for (int i = 0; i < d->field_count(); ++i) {
        if (d->field(i) != last)
          holder->GetReflection()->ClearField(holder.get(), d->field(i));
      }
      options.always_print_primitive_fields = false;
      if (auto s = print(d, holder->SerializeAsString()); !s.ok()) return s;
      size_t colon = json.find(':');
      size_t close = json.rfind('}');
      if (colon == std::string::npos || close == std::string::npos ||
          close < colon) {
        json =
            DefaultJson(last, config_.print_options.always_print_enums_as_ints);
      } else {
        json = std::string(absl::StripAsciiWhitespace(
            absl::string_view(json).substr(colon + 1, close - colon - 1)));
      }
    }
  }
  if (config_.max_response_body_size > 0 &&
      json.size() > config_.max_response_body_size) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the response body (", json.size(), " bytes) exceeds the limit of ",
        config_.max_response_body_size, " bytes"));
  }
  return json;
}

}  // namespace leadrelay::gateway
