#include "gateway/routes.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gateway/wire.h"
#include "google/protobuf/descriptor.pb.h"

namespace leadrelay::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;

// google.api.http = 72295728 on MethodOptions.
constexpr int kHttpExtension = 72295728;

absl::StatusOr<HttpRuleSpec> DecodeRule(absl::string_view bytes, int depth) {
  if (depth > 2) return absl::InvalidArgumentError("HttpRule nested too deep");
  HttpRuleSpec rule;
  absl::Status status = ForEachWireField(bytes, [&](const WireField& f) {
    static const char* const kMethods[] = {nullptr, nullptr, "GET",    "PUT",
                                           "POST",  "DELETE", "PATCH"};
    if (f.number >= 2 && f.number <= 6 && f.is_bytes) {
      rule.http_method = kMethods[f.number];
      rule.path = std::string(f.bytes);
    } else if (f.number == 7 && f.is_bytes) {
      rule.body = std::string(f.bytes);
    } else if (f.number == 12 && f.is_bytes) {
      rule.response_body = std::string(f.bytes);
    } else if (f.number == 8 && f.is_bytes) {  // CustomHttpPattern
      return ForEachWireField(f.bytes, [&](const WireField& c) {
        if (c.number == 1 && c.is_bytes) rule.http_method = std::string(c.bytes);
        if (c.number == 2 && c.is_bytes) rule.path = std::string(c.bytes);
        return absl::OkStatus();
      });
    } else if (f.number == 11 && f.is_bytes) {
      auto nested = DecodeRule(f.bytes, depth + 1);
      if (!nested.ok()) return nested.status();
      rule.additional_bindings.push_back(*std::move(nested));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return rule;
}

const FieldDescriptor* FindField(const Descriptor* message,
                                 absl::string_view name) {
  if (const FieldDescriptor* f = message->FindFieldByName(std::string(name))) {
    return f;
  }
  for (int i = 0; i < message->field_count(); ++i) {
    if (message->field(i)->json_name() == name) return message->field(i);
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<std::optional<HttpRuleSpec>> DecodeHttpRule(
    absl::string_view options) {
  std::optional<HttpRuleSpec> out;
  absl::Status status = ForEachWireField(options, [&](const WireField& f) {
    if (f.number != kHttpExtension || !f.is_bytes) return absl::OkStatus();
    auto rule = DecodeRule(f.bytes, 0);
    if (!rule.ok()) return rule.status();
    out = *std::move(rule);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<FieldPath> ResolveFieldPath(const Descriptor* message,
                                           absl::string_view dotted) {
  FieldPath path;
  for (absl::string_view part : absl::StrSplit(dotted, '.')) {
    if (message == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", dotted, "\": a scalar field has no sub-fields"));
    }
    const FieldDescriptor* field = FindField(message, part);
    if (field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", dotted, "\": no field \"", part, "\" in ", message->full_name()));
    }
    if (!path.empty() && path.back()->is_repeated()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", dotted, "\": a repeated field has no sub-fields"));
    }
    path.push_back(field);
    message = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
                      !field->is_map()
                  ? field->message_type()
                  : nullptr;
  }
  return path;
}

absl::StatusOr<std::unique_ptr<RouteTable>> RouteTable::Build(
    const google::protobuf::DescriptorPool& pool,
    const std::vector<std::string>& services, bool auto_mapping) {
  auto table = std::make_unique<RouteTable>();
  auto add = [&](const MethodDescriptor* method,
                 const HttpRuleSpec& spec) -> absl::Status {
    auto route = std::make_unique<Route>();
    route->method = method;
    route->grpc_path =
        absl::StrCat("/", method->service()->full_name(), "/", method->name());
    route->http_method = spec.http_method;
    route->template_text = spec.path;
    auto tmpl = ParsePathTemplate(spec.path);
    if (!tmpl.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(method->full_name(), ": ", tmpl.status().message()));
    }
    route->path = *std::move(tmpl);
    auto where = [&](const absl::Status& s) {
      return absl::InvalidArgumentError(
          absl::StrCat(method->full_name(), ": ", s.message()));
    };
    for (const auto& var : route->path.variables) {
      auto path = ResolveFieldPath(method->input_type(),
                                   absl::StrJoin(var.field_path, "."));
      if (!path.ok()) return where(path.status());
      if (path->back()->is_repeated() ||
          (path->back()->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
           path->back()->message_type()->file()->package() !=
               "google.protobuf")) {
        return where(absl::InvalidArgumentError(absl::StrCat(
            "path variable ", path->back()->name(), " must be a scalar")));
      }
      route->variable_fields.push_back(*std::move(path));
    }
    route->body = spec.body;
    if (!spec.body.empty() && spec.body != "*") {
      auto path = ResolveFieldPath(method->input_type(), spec.body);
      if (!path.ok()) return where(path.status());
      route->body_field = *std::move(path);
    }
    route->response_body = spec.response_body;
    if (!spec.response_body.empty()) {
      auto path = ResolveFieldPath(method->output_type(), spec.response_body);
      if (!path.ok()) return where(path.status());
      route->response_body_field = *std::move(path);
    }
    if (!route->path.verb.empty()) table->verbs_.insert(route->path.verb);
    table->routes_.push_back(std::move(route));
    return absl::OkStatus();
  };

  for (const std::string& name : services) {
    const google::protobuf::ServiceDescriptor* service =
        pool.FindServiceByName(name);
    if (service == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("service ", name, " is not in the descriptor set"));
    }
    for (int i = 0; i < service->method_count(); ++i) {
      const MethodDescriptor* method = service->method(i);
      if (method->client_streaming()) continue;  // not transcodable over REST
      auto rule = DecodeHttpRule(method->options().SerializeAsString());
      if (!rule.ok()) return rule.status();
      if (rule->has_value()) {
        const HttpRuleSpec& spec = **rule;
        if (!spec.http_method.empty()) {
          if (auto s = add(method, spec); !s.ok()) return s;
        }
        for (const HttpRuleSpec& extra : spec.additional_bindings) {
          if (auto s = add(method, extra); !s.ok()) return s;
        }
      } else if (auto_mapping) {
        HttpRuleSpec spec;
        spec.http_method = "POST";
        spec.path = absl::StrCat("/", service->full_name(), "/", method->name());
        spec.body = "*";
        if (auto s = add(method, spec); !s.ok()) return s;
      }
    }
  }
  return table;
}

std::optional<RouteTable::Match> RouteTable::Find(
    absl::string_view http_method, absl::string_view path,
    const GatewayConfig& config, std::vector<std::string>* allowed) const {
  RequestPath request =
      SplitRequestPath(path, verbs_, config.match_unregistered_custom_verb);
  std::optional<Match> best;
  for (const auto& route : routes_) {
    auto bindings =
        MatchPathTemplate(route->path, request, config.url_unescape_spec);
    if (!bindings) continue;
    if (route->http_method != http_method) {
      if (allowed != nullptr) allowed->push_back(route->http_method);
      continue;
    }
    if (!best || CompareSpecificity(route->path, best->route->path) < 0) {
      best = Match{route.get(), *std::move(bindings)};
    }
  }
  if (best) {
    if (allowed != nullptr) allowed->clear();
  } else if (allowed != nullptr) {
    std::sort(allowed->begin(), allowed->end());
    allowed->erase(std::unique(allowed->begin(), allowed->end()),
                   allowed->end());
  }
  return best;
}

}  // namespace leadrelay::gateway
