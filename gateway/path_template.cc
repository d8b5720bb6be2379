#include "gateway/path_template.h"

#include <cctype>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace leadrelay::gateway {
namespace {

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// Characters allowed in a literal segment: anything but the template syntax.
bool IsLiteralChar(char c) {
  return c != '/' && c != '{' && c != '}' && c != '*' && c != '=' && c != ':' &&
         c != '?' && c != '#' && static_cast<unsigned char>(c) > 0x20;
}

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<PathTemplate> Parse() {
    if (text_.empty() || text_[0] != '/') return Error("must start with '/'");
    if (text_ == "/") return PathTemplate{};
    pos_ = 1;
    if (auto s = ParseSegments(/*in_variable=*/false); !s.ok()) return s;
    if (Peek() == ':') {
      ++pos_;
      size_t begin = pos_;
      while (pos_ < text_.size() && IsLiteralChar(text_[pos_])) ++pos_;
      if (pos_ == begin) return Error("empty verb");
      out_.verb = std::string(text_.substr(begin, pos_ - begin));
    }
    if (pos_ != text_.size()) {
      return Error(absl::StrCat("unexpected '", text_.substr(pos_, 1), "'"));
    }
    // As in Envoy: one `**` at most, and only literals after it, so that a
    // match is decided without backtracking (prefix, wildcard, suffix).
    bool after_multi = false;
    for (const auto& segment : out_.segments) {
      if (after_multi && segment.kind != PathTemplate::Kind::kLiteral) {
        return Error("only literal segments may follow '**'");
      }
      if (segment.kind == PathTemplate::Kind::kMulti) after_multi = true;
    }
    absl::flat_hash_set<std::string> names;
    for (const auto& v : out_.variables) {
      if (!names.insert(absl::StrJoin(v.field_path, ".")).second) {
        return Error("duplicate variable");
      }
    }
    return std::move(out_);
  }

 private:
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid path template \"", text_, "\": ", what));
  }

  absl::Status ParseSegments(bool in_variable) {
    while (true) {
      if (auto s = ParseSegment(in_variable); !s.ok()) return s;
      if (Peek() != '/') return absl::OkStatus();
      ++pos_;
    }
  }

  absl::Status ParseSegment(bool in_variable) {
    char c = Peek();
    if (c == '*') {
      ++pos_;
      if (Peek() == '*') {
        ++pos_;
        out_.segments.push_back({PathTemplate::Kind::kMulti, ""});
      } else {
        out_.segments.push_back({PathTemplate::Kind::kSingle, ""});
      }
      return absl::OkStatus();
    }
    if (c == '{') {
      if (in_variable) return Error("nested variables are not allowed");
      return ParseVariable();
    }
    size_t begin = pos_;
    while (pos_ < text_.size() && IsLiteralChar(text_[pos_])) ++pos_;
    if (pos_ == begin) {
      if (c == '/' || c == '\0' || c == ':') return Error("empty segment");
      return Error(absl::StrCat("unexpected '", std::string(1, c), "'"));
    }
    out_.segments.push_back({PathTemplate::Kind::kLiteral,
                             std::string(text_.substr(begin, pos_ - begin))});
    return absl::OkStatus();
  }

  absl::Status ParseVariable() {
    ++pos_;  // '{'
    PathTemplate::Variable var;
    while (true) {
      size_t begin = pos_;
      if (!IsIdentStart(Peek())) return Error("expected a field name in '{}'");
      while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
      var.field_path.emplace_back(text_.substr(begin, pos_ - begin));
      if (Peek() != '.') break;
      ++pos_;
    }
    var.start = static_cast<int>(out_.segments.size());
    if (Peek() == '=') {
      ++pos_;
      if (auto s = ParseSegments(/*in_variable=*/true); !s.ok()) return s;
    } else {
      out_.segments.push_back({PathTemplate::Kind::kSingle, ""});
    }
    if (Peek() != '}') {
      return Error(Peek() == '{' ? "nested variables are not allowed"
                                 : "expected '}'");
    }
    ++pos_;
    var.end = static_cast<int>(out_.segments.size());
    out_.variables.push_back(std::move(var));
    return absl::OkStatus();
  }

  absl::string_view text_;
  size_t pos_ = 0;
  PathTemplate out_;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 6570 reserved characters.
bool IsReserved(char c) {
  switch (c) {
    case ':':
    case '/':
    case '?':
    case '#':
    case '[':
    case ']':
    case '@':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
      return true;
    default:
      return false;
  }
}

}  // namespace

absl::StatusOr<PathTemplate> ParsePathTemplate(absl::string_view text) {
  return Parser(text).Parse();
}

std::string UrlUnescape(absl::string_view in, UnescapeMode mode,
                        bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+' && plus_as_space) {
      out.push_back(' ');
      continue;
    }
    if (c == '%' && i + 2 < in.size()) {
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        char decoded = static_cast<char>(hi * 16 + lo);
        bool keep =
            (mode == UnescapeMode::kAllExceptSlash && decoded == '/') ||
            (mode == UnescapeMode::kAllExceptReserved && IsReserved(decoded));
        if (keep) {
          out.append(in.data() + i, 3);
        } else {
          out.push_back(decoded);
        }
        i += 2;
        continue;
      }
    }
    out.push_back(c);
  }
  return out;
}

RequestPath SplitRequestPath(
    absl::string_view path, const absl::flat_hash_set<std::string>& known_verbs,
    bool match_unregistered_verbs) {
  RequestPath out;
  if (!path.empty() && path[0] == '/') path.remove_prefix(1);
  if (path.empty()) return out;
  out.segments = absl::StrSplit(path, '/');
  std::string& last = out.segments.back();
  size_t colon = last.rfind(':');
  if (colon != std::string::npos) {
    std::string verb = last.substr(colon + 1);
    if (match_unregistered_verbs || known_verbs.contains(verb)) {
      out.verb = std::move(verb);
      last.resize(colon);
    }
  }
  return out;
}

std::optional<std::vector<VariableBinding>> MatchPathTemplate(
    const PathTemplate& tmpl, const RequestPath& path, UrlUnescapeSpec spec) {
  if (tmpl.verb != path.verb) return std::nullopt;
  const auto& segs = tmpl.segments;
  const size_t n = path.segments.size();
  // The template's `**` (at most one) takes whatever the fixed segments
  // before and after it leave; without one, the lengths must agree.
  size_t multi = segs.size();
  for (size_t i = 0; i < segs.size(); ++i) {
    if (segs[i].kind == PathTemplate::Kind::kMulti) multi = i;
  }
  const bool has_multi = multi < segs.size();
  if (has_multi ? n + 1 < segs.size() : n != segs.size()) return std::nullopt;
  // Path index of template segment `i` (one past the end for i == size).
  const size_t extra = n + 1 - segs.size();  // segments `**` covers (has_multi)
  auto path_index = [&](size_t i) {
    return has_multi && i > multi ? i + extra - 1 : i;
  };
  for (size_t i = 0; i < segs.size(); ++i) {
    if (segs[i].kind == PathTemplate::Kind::kMulti) continue;
    const std::string& raw = path.segments[path_index(i)];
    if (segs[i].kind == PathTemplate::Kind::kLiteral) {
      if (raw != segs[i].literal &&
          UrlUnescape(raw, UnescapeMode::kAll) != segs[i].literal) {
        return std::nullopt;
      }
    } else if (raw.empty()) {
      return std::nullopt;  // `*` needs a non-empty segment
    }
  }
  std::vector<VariableBinding> bindings;
  bindings.reserve(tmpl.variables.size());
  for (const auto& var : tmpl.variables) {
    const size_t begin = path_index(var.start);
    const size_t end = path_index(var.end);
    // Envoy: a single-segment variable is always fully decoded;
    // url_unescape_spec applies to multi-segment ones only.
    const bool single = var.end - var.start == 1 &&
                        segs[var.start].kind == PathTemplate::Kind::kSingle;
    UnescapeMode mode = UnescapeMode::kAll;
    if (!single && spec == UrlUnescapeSpec::kAllCharactersExceptSlash) {
      mode = UnescapeMode::kAllExceptSlash;
    } else if (!single &&
               spec == UrlUnescapeSpec::kAllCharactersExceptReserved) {
      mode = UnescapeMode::kAllExceptReserved;
    }
    std::string value;
    for (size_t i = begin; i < end; ++i) {
      if (i != begin) value.push_back('/');
      value += UrlUnescape(path.segments[i], mode);
    }
    bindings.push_back({var.field_path, std::move(value)});
  }
  return bindings;
}

int CompareSpecificity(const PathTemplate& a, const PathTemplate& b) {
  size_t n = std::min(a.segments.size(), b.segments.size());
  for (size_t i = 0; i < n; ++i) {
    int ka = static_cast<int>(a.segments[i].kind);
    int kb = static_cast<int>(b.segments[i].kind);
    if (ka != kb) return ka < kb ? -1 : 1;
  }
  // Same prefix: the longer template is more specific (a trailing `**` that
  // matched nothing is less specific than an exact match).
  if (a.segments.size() != b.segments.size()) {
    return a.segments.size() > b.segments.size() ? -1 : 1;
  }
  return 0;
}

}  // namespace leadrelay::gateway
