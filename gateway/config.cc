// Reads the gateway configuration from the grpc_json_transcoder filter block
// of an Envoy bootstrap. yaml-cpp throws; nothing escapes this file.
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/gateway.h"
#include "yaml-cpp/yaml.h"

namespace leadrelay::gateway {
namespace {

constexpr absl::string_view kFilterName =
    "envoy.filters.http.grpc_json_transcoder";

bool IsTranscoderBlock(const YAML::Node& node) {
  return node.IsMap() &&
         (node["proto_descriptor"] || node["proto_descriptor_bin"]) &&
         node["services"];
}

// The first transcoder block in `node`, depth first.
YAML::Node FindTranscoderBlock(const YAML::Node& node) {
  if (node.IsMap()) {
    const YAML::Node name = node["name"];
    const YAML::Node typed = node["typed_config"];
    if (name && name.IsScalar() && name.Scalar() == kFilterName && typed) {
      return typed;
    }
    if (IsTranscoderBlock(node)) return node;
    for (const auto& kv : node) {
      YAML::Node found = FindTranscoderBlock(kv.second);
      if (found) return found;
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      YAML::Node found = FindTranscoderBlock(item);
      if (found) return found;
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

// UInt32Value fields may be written as `N` or `{value: N}`.
uint32_t UInt32Of(const YAML::Node& node) {
  if (node.IsMap()) return node["value"].as<uint32_t>();
  return node.as<uint32_t>();
}

absl::Status ApplyPrintOptions(const YAML::Node& node, PrintOptions* out) {
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    bool value = kv.second.as<bool>();
    if (key == "add_whitespace")
      out->add_whitespace = value;
    else if (key == "always_print_primitive_fields")
      out->always_print_primitive_fields = value;
    else if (key == "always_print_enums_as_ints")
      out->always_print_enums_as_ints = value;
    else if (key == "preserve_proto_field_names")
      out->preserve_proto_field_names = value;
    else if (key == "stream_newline_delimited")
      out->stream_newline_delimited = value;
    else if (key == "stream_sse_style_delimited")
      out->stream_sse_style_delimited = value;
    else
      return absl::InvalidArgumentError(
          absl::StrCat("unknown print option ", key));
  }
  return absl::OkStatus();
}

absl::StatusOr<GatewayConfig> FromBlock(const YAML::Node& block) {
  GatewayConfig config;
  for (const auto& kv : block) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "@type" || key == "match_incoming_request_route") {
      continue;
    } else if (key == "proto_descriptor") {
      config.proto_descriptor = v.as<std::string>();
    } else if (key == "proto_descriptor_bin") {
      if (!absl::Base64Unescape(v.as<std::string>(),
                                &config.proto_descriptor_bin)) {
        return absl::InvalidArgumentError("proto_descriptor_bin is not base64");
      }
    } else if (key == "services") {
      config.services = v.as<std::vector<std::string>>();
    } else if (key == "print_options") {
      if (auto s = ApplyPrintOptions(v, &config.print_options); !s.ok())
        return s;
    } else if (key == "auto_mapping") {
      config.auto_mapping = v.as<bool>();
    } else if (key == "ignored_query_parameters") {
      config.ignored_query_parameters = v.as<std::vector<std::string>>();
    } else if (key == "ignore_unknown_query_parameters") {
      config.ignore_unknown_query_parameters = v.as<bool>();
    } else if (key == "convert_grpc_status") {
      config.convert_grpc_status = v.as<bool>();
    } else if (key == "url_unescape_spec") {
      const std::string spec = v.as<std::string>();
      if (spec == "ALL_CHARACTERS_EXCEPT_RESERVED") {
        config.url_unescape_spec =
            UrlUnescapeSpec::kAllCharactersExceptReserved;
      } else if (spec == "ALL_CHARACTERS_EXCEPT_SLASH") {
        config.url_unescape_spec = UrlUnescapeSpec::kAllCharactersExceptSlash;
      } else if (spec == "ALL_CHARACTERS") {
        config.url_unescape_spec = UrlUnescapeSpec::kAllCharacters;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown url_unescape_spec ", spec));
      }
    } else if (key == "query_param_unescape_plus") {
      config.query_param_unescape_plus = v.as<bool>();
    } else if (key == "match_unregistered_custom_verb") {
      config.match_unregistered_custom_verb = v.as<bool>();
    } else if (key == "request_validation_options") {
      for (const auto& option : v) {
        const std::string name = option.first.as<std::string>();
        bool value = option.second.as<bool>();
        if (name == "reject_unknown_method") {
          config.reject_unknown_method = value;
        } else if (name == "reject_unknown_query_parameters") {
          config.reject_unknown_query_parameters = value;
        } else if (name == "reject_binding_body_field_collisions") {
          config.reject_binding_body_field_collisions = value;
        } else {
          return absl::InvalidArgumentError(
              absl::StrCat("unknown request_validation_options field ", name));
        }
      }
    } else if (key == "case_insensitive_enum_parsing") {
      config.case_insensitive_enum_parsing = v.as<bool>();
    } else if (key == "max_request_body_size") {
      config.max_request_body_size = UInt32Of(v);
    } else if (key == "max_response_body_size") {
      config.max_response_body_size = UInt32Of(v);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported grpc_json_transcoder field ", key));
    }
  }
  return config;
}

}  // namespace

absl::StatusOr<GatewayConfig> ParseGatewayConfig(const std::string& text) {
  try {
    YAML::Node root = YAML::Load(text);
    YAML::Node block = FindTranscoderBlock(root);
    if (!block) {
      return absl::NotFoundError(
          "no grpc_json_transcoder filter (or transcoder fields) in the "
          "config");
    }
    return FromBlock(block);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: ", e.what()));
  }
}

absl::StatusOr<GatewayConfig> LoadGatewayConfig(
    const std::string& envoy_yaml_path) {
  std::ifstream in(envoy_yaml_path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", envoy_yaml_path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto config = ParseGatewayConfig(text.str());
  if (!config.ok()) return config;
  // A relative descriptor path that is not there from the working directory
  // is taken from the repository root: the parent of the config's directory.
  const std::string& descriptor = config->proto_descriptor;
  if (!descriptor.empty() && descriptor[0] != '/' &&
      !std::ifstream(descriptor).good()) {
    size_t slash = envoy_yaml_path.rfind('/');
    std::string dir =
        slash == std::string::npos ? "." : envoy_yaml_path.substr(0, slash);
    std::string candidate = absl::StrCat(dir, "/../", descriptor);
    if (std::ifstream(candidate).good()) config->proto_descriptor = candidate;
  }
  return config;
}

}  // namespace leadrelay::gateway
