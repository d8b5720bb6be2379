#include "gateway/routes.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/api/annotations.pb.h"
#include "google/protobuf/descriptor.pb.h"

namespace leadrelay::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::MethodOptions;

// google.api.http rules: the rule itself and its additional_bindings.
void CollectBindings(const google::api::HttpRule& rule,
                     std::vector<const google::api::HttpRule*>* out) {
  out->push_back(&rule);
  for (const auto& extra : rule.additional_bindings()) out->push_back(&extra);
}

// "GET", "POST", ... or the custom kind; empty when the rule has no pattern.
std::string HttpMethodOf(const google::api::HttpRule& rule) {
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet:
      return "GET";
    case google::api::HttpRule::kPut:
      return "PUT";
    case google::api::HttpRule::kPost:
      return "POST";
    case google::api::HttpRule::kDelete:
      return "DELETE";
    case google::api::HttpRule::kPatch:
      return "PATCH";
    case google::api::HttpRule::kCustom:
      return rule.custom().kind();
    default:
      return "";
  }
}

std::string PathOf(const google::api::HttpRule& rule) {
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet:
      return rule.get();
    case google::api::HttpRule::kPut:
      return rule.put();
    case google::api::HttpRule::kPost:
      return rule.post();
    case google::api::HttpRule::kDelete:
      return rule.delete_();
    case google::api::HttpRule::kPatch:
      return rule.patch();
    case google::api::HttpRule::kCustom:
      return rule.custom().path();
    default:
      return "";
  }
}

// What decides which requests a route takes: method, segment shapes, verb.
std::string RouteShape(const Route& route) {
  std::string shape = absl::StrCat(route.http_method, " ");
  for (const auto& segment : route.path.segments) {
    switch (segment.kind) {
      case PathTemplate::Kind::kLiteral:
        absl::StrAppend(&shape, "/L", segment.literal.size(), ":",
                        segment.literal);
        break;
      case PathTemplate::Kind::kSingle:
        absl::StrAppend(&shape, "/*");
        break;
      case PathTemplate::Kind::kMulti:
        absl::StrAppend(&shape, "/**");
        break;
    }
  }
  absl::StrAppend(&shape, ":", route.path.verb);
  return shape;
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
      return absl::InvalidArgumentError(
          absl::StrCat("\"", dotted, "\": no field \"", part, "\" in ",
                       message->full_name()));
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
  absl::flat_hash_map<std::string, const Route*> shapes;
  auto add = [&](const MethodDescriptor* method, std::string http_method,
                 std::string path, const std::string& body,
                 const std::string& response_body) -> absl::Status {
    auto route = std::make_unique<Route>();
    route->method = method;
    route->grpc_path =
        absl::StrCat("/", method->service()->full_name(), "/", method->name());
    route->http_method = std::move(http_method);
    route->template_text = std::move(path);
    auto tmpl = ParsePathTemplate(route->template_text);
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
    route->body = body;
    if (!body.empty() && body != "*") {
      auto path = ResolveFieldPath(method->input_type(), body);
      if (!path.ok()) return where(path.status());
      route->body_field = *std::move(path);
    }
    route->response_body = response_body;
    if (!response_body.empty()) {
      auto path = ResolveFieldPath(method->output_type(), response_body);
      if (!path.ok()) return where(path.status());
      route->response_body_field = *std::move(path);
    }
    // Envoy's matcher keeps one method per shape; a silent winner would hide
    // a configuration mistake, so the table refuses it.
    auto [it, inserted] = shapes.emplace(RouteShape(*route), route.get());
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(
          "duplicate binding ", route->http_method, " ", route->template_text,
          ": ", it->second->method->full_name(), " (",
          it->second->template_text, ") and ", method->full_name()));
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
      const MethodOptions& options = method->options();
      if (options.HasExtension(google::api::http)) {
        std::vector<const google::api::HttpRule*> rules;
        CollectBindings(options.GetExtension(google::api::http), &rules);
        for (const google::api::HttpRule* rule : rules) {
          std::string http_method = HttpMethodOf(*rule);
          if (http_method.empty()) continue;
          if (auto s = add(method, std::move(http_method), PathOf(*rule),
                           rule->body(), rule->response_body());
              !s.ok()) {
            return s;
          }
        }
      } else if (auto_mapping) {
        if (auto s = add(
                method, "POST",
                absl::StrCat("/", service->full_name(), "/", method->name()),
                "*", "");
            !s.ok()) {
          return s;
        }
      }
    }
  }
  return table;
}

std::optional<RouteTable::Match> RouteTable::Find(
    absl::string_view http_method, absl::string_view path,
    const GatewayConfig& config, std::vector<std::string>* allowed) const {
  if (path.empty() || path[0] != '/') return std::nullopt;
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
