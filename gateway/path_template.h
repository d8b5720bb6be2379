// google.api.http path templates: parsing, matching and percent-decoding.
// Pure logic, no I/O.
//
//   Template = "/" Segments [ Verb ] ;
//   Segments = Segment { "/" Segment } ;
//   Segment  = "*" | "**" | LITERAL | Variable ;
//   Variable = "{" FieldPath [ "=" Segments ] "}" ;
//   FieldPath = IDENT { "." IDENT } ;
//   Verb     = ":" LITERAL ;
#ifndef LEADRELAY_GATEWAY_PATH_TEMPLATE_H_
#define LEADRELAY_GATEWAY_PATH_TEMPLATE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/gateway.h"

namespace leadrelay::gateway {

struct PathTemplate {
  // Ordered so that a smaller kind is the more specific one.
  enum class Kind { kLiteral = 0, kSingle = 1, kMulti = 2 };
  struct Segment {
    Kind kind;
    std::string literal;  // kLiteral only
  };
  struct Variable {
    std::vector<std::string> field_path;
    int start = 0;  // first segment index
    int end = 0;    // one past the last segment index
  };
  std::vector<Segment> segments;
  std::vector<Variable> variables;
  std::string verb;  // without the ':'
};

absl::StatusOr<PathTemplate> ParsePathTemplate(absl::string_view text);

// A request path split into raw (still percent-encoded) segments and verb.
struct RequestPath {
  std::vector<std::string> segments;
  std::string verb;
};

// Splits `path` (no query string). A trailing ":verb" on the last segment is
// taken as the verb when it is one of `known_verbs`, or always when
// `match_unregistered_verbs`.
RequestPath SplitRequestPath(
    absl::string_view path, const absl::flat_hash_set<std::string>& known_verbs,
    bool match_unregistered_verbs);

struct VariableBinding {
  std::vector<std::string> field_path;
  std::string value;  // decoded
};

// Bindings when `path` matches `tmpl`, else nullopt.
std::optional<std::vector<VariableBinding>> MatchPathTemplate(
    const PathTemplate& tmpl, const RequestPath& path, UrlUnescapeSpec spec);

// Negative when `a` is more specific than `b` for the same request (literal
// beats `*` beats `**`, segment by segment), 0 when equal.
int CompareSpecificity(const PathTemplate& a, const PathTemplate& b);

enum class UnescapeMode { kAll, kAllExceptSlash, kAllExceptReserved };
// Percent-decodes `in`; invalid escapes are kept as they are.
std::string UrlUnescape(absl::string_view in, UnescapeMode mode,
                        bool plus_as_space = false);

}  // namespace leadrelay::gateway

#endif  // LEADRELAY_GATEWAY_PATH_TEMPLATE_H_
