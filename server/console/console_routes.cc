#include "console/console_routes.h"

#include "absl/strings/match.h"
#include "console/console_files.h"

namespace leadrelay::console {
namespace {

const ConsoleFile* FindFile(absl::string_view name) {
  for (int i = 0; i < kConsoleFileCount; ++i) {
    if (name == kConsoleFiles[i].path) return &kConsoleFiles[i];
  }
  return nullptr;
}

ConsoleReply WithSecurityHeaders(ConsoleReply reply) {
  reply.headers.emplace_back("Content-Security-Policy",
                             std::string(ConsoleContentSecurityPolicy()));
  reply.headers.emplace_back("X-Frame-Options", "DENY");
  reply.headers.emplace_back("X-Content-Type-Options", "nosniff");
  reply.headers.emplace_back("Referrer-Policy", "no-referrer");
  // Files change with the binary; revalidate rather than serve stale code.
  reply.headers.emplace_back("Cache-Control", "no-cache");
  return reply;
}

ConsoleReply Plain(int status, std::string body) {
  ConsoleReply reply;
  reply.status = status;
  reply.content_type = "text/plain; charset=utf-8";
  reply.body = std::move(body);
  return reply;
}

}  // namespace

absl::string_view ConsoleContentSecurityPolicy() {
  return "default-src 'self'; script-src 'self'; style-src 'self'; "
         "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
         "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

absl::string_view ConsoleContentType(absl::string_view file_name) {
  if (absl::EndsWith(file_name, ".html")) return "text/html; charset=utf-8";
  if (absl::EndsWith(file_name, ".js")) {
    return "text/javascript; charset=utf-8";
  }
  if (absl::EndsWith(file_name, ".css")) return "text/css; charset=utf-8";
  if (absl::EndsWith(file_name, ".svg")) return "image/svg+xml";
  if (absl::EndsWith(file_name, ".json")) {
    return "application/json; charset=utf-8";
  }
  return "application/octet-stream";
}

ConsoleReply ServeConsole(absl::string_view method, absl::string_view path) {
  if (method != "GET" && method != "HEAD") {
    ConsoleReply reply = Plain(405, "method not allowed\n");
    reply.headers.emplace_back("Allow", "GET, HEAD");
    return WithSecurityHeaders(std::move(reply));
  }
  if (!absl::StartsWith(path, kConsolePrefix)) {
    return WithSecurityHeaders(Plain(404, "not found\n"));
  }
  absl::string_view name = path.substr(kConsolePrefix.size());
  if (name.empty()) name = "index.html";
  // The table holds exact names only, so "..", "//" or "%2e" never match.
  const ConsoleFile* file = FindFile(name);
  if (file == nullptr) return WithSecurityHeaders(Plain(404, "not found\n"));
  ConsoleReply reply;
  reply.content_type = std::string(ConsoleContentType(name));
  reply.body = file->body;
  return WithSecurityHeaders(std::move(reply));
}

}  // namespace leadrelay::console
