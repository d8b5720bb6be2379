// verify --secret S --body FILE -H 'name: value'...: checks a captured
// delivery offline against both signature schemes.
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cli_context.h"
#include "leadrelay/webhook_signature.h"

namespace leadrelay::cli {
namespace {

struct VerifyFlags {
  std::vector<std::string> secrets;
  std::string body_file;
  std::vector<std::string> headers;
  std::string tolerance = "5m";
};

int RunVerify(const CliContext& ctx, const VerifyFlags& flags) {
  std::ifstream in(flags.body_file, std::ios::binary);
  if (!in) return UsageError(absl::StrCat("cannot read ", flags.body_file));
  std::stringstream body;
  body << in.rdbuf();
  std::map<std::string, std::string> headers;
  for (const std::string& h : flags.headers) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(h, absl::MaxSplits(':', 1));
    if (h.find(':') == std::string::npos) {
      return UsageError(absl::StrCat("-H wants 'name: value', got '", h, "'"));
    }
    headers[std::string(absl::StripAsciiWhitespace(kv.first))] =
        std::string(absl::StripAsciiWhitespace(kv.second));
  }
  absl::Duration tolerance;
  if (!absl::ParseDuration(flags.tolerance, &tolerance)) {
    return UsageError("--tolerance wants a duration like 5m");
  }
  if (tolerance <= absl::ZeroDuration()) tolerance = absl::InfiniteDuration();
  webhooks::Verification v = webhooks::VerifyDelivery(
      flags.secrets, body.str(), headers, absl::Now(), tolerance);
  if (ctx.json()) {
    std::cout << "{\"valid\":" << (v.ok() ? "true" : "false")
              << ",\"x_leadrelay_signature\":" << (v.hex_ok ? "true" : "false")
              << ",\"webhook_signature\":" << (v.standard_ok ? "true" : "false")
              << "}" << std::endl;
  } else {
    std::cout << "X-LeadRelay-Signature: "
              << (v.hex_ok ? "valid"
                           : absl::StrCat("invalid (", v.hex_detail, ")"))
              << "\n"
              << "webhook-signature (Standard Webhooks): "
              << (v.standard_ok
                      ? "valid"
                      : absl::StrCat("invalid (", v.standard_detail, ")"))
              << std::endl;
  }
  if (!v.ok()) {
    std::cerr << "error: invalid_signature: no header matched" << std::endl;
    return kExitApiError;
  }
  return kExitOk;
}

}  // namespace

void AddVerifyCommand(CLI::App& app, CliContext& ctx, int* rc) {
  static VerifyFlags flags;
  CLI::App* verify = app.add_subcommand(
      "verify",
      "check a captured delivery against both signature schemes, offline");
  verify
      ->add_option("--secret", flags.secrets,
                   "signing secret (repeat during a rotation)")
      ->required();
  verify->add_option("--body", flags.body_file, "the raw body, as received")
      ->required();
  verify->add_option("-H,--header", flags.headers,
                     "a received header, 'name: value' (repeat)");
  verify->add_option("--tolerance", flags.tolerance,
                     "allowed webhook-timestamp age (0 = any)");
  verify->callback([&ctx, rc] { *rc = RunVerify(ctx, flags); });
}

}  // namespace leadrelay::cli
