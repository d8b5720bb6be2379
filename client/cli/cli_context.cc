#include "cli_context.h"

#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "leadrelay/errors.h"
#include "profile.h"

namespace leadrelay::cli {
namespace {

bool Truthy(const std::string& value) {
  std::string v = absl::AsciiStrToLower(value);
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

}  // namespace

void CliContext::AddGlobalFlags(CLI::App& app) {
  app.add_option("--grpc", flags.grpc, "server host:port (env LEADRELAY_GRPC)");
  app.add_option("--api-key", flags.api_key,
                 "API key (env LEADRELAY_API_KEY); never printed");
  app.add_option("--profile", flags.profile,
                 "profile (section) of the config file to use");
  app.add_option("--config", flags.config,
                 "config file (env LEADRELAY_CONFIG, default "
                 "~/.config/leadrelay/config.ini)");
  app.add_flag("--tls", flags.tls,
               "TLS with the system roots (env LEADRELAY_TLS)");
  app.add_option("--ca-file", flags.ca_file,
                 "PEM roots for TLS (env LEADRELAY_CA_FILE)");
  app.add_option("--account", flags.account,
                 "act for this account (platform keys; env LEADRELAY_ACCOUNT)");
  app.add_option("-o,--output", flags.output,
                 "auto (tables on a terminal, JSON otherwise), table or json")
      ->check(CLI::IsMember({"auto", "table", "json"}));
  app.add_option("--timeout", flags.timeout_seconds,
                 "deadline of each call in seconds, retries included");
}

absl::StatusOr<ClientOptions> CliContext::ResolveOptions() const {
  ClientOptions env = ClientOptions::FromEnv();
  const std::string path =
      flags.config.empty() ? DefaultConfigPath() : flags.config;
  Profiles profiles;
  std::ifstream in(path);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<Profiles> parsed = ParseProfiles(text.str());
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", parsed.status().message()));
    }
    profiles = *std::move(parsed);
  } else if (!flags.config.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  }
  Profile chosen;
  if (!flags.profile.empty()) {
    auto it = profiles.find(flags.profile);
    if (it == profiles.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("no profile [", flags.profile, "] in ", path));
    }
    chosen = it->second;
  }
  Profile fallback;
  if (auto it = profiles.find("default"); it != profiles.end()) {
    fallback = it->second;
  }
  const char* env_grpc = std::getenv("LEADRELAY_GRPC");
  // flag > chosen profile > environment > [default] > built-in default.
  auto pick = [&](const std::string& flag, const char* key,
                  const std::string& env_value, bool env_set,
                  const std::string& builtin) {
    if (!flag.empty()) return flag;
    if (auto it = chosen.find(key); it != chosen.end()) return it->second;
    if (env_set) return env_value;
    if (auto it = fallback.find(key); it != fallback.end()) return it->second;
    return builtin;
  };
  ClientOptions options;
  options.target = pick(flags.grpc, "grpc", env.target,
                        env_grpc != nullptr && *env_grpc, options.target);
  options.api_key =
      pick(flags.api_key, "api_key", env.api_key, !env.api_key.empty(), "");
  options.ca_file =
      pick(flags.ca_file, "ca_file", env.ca_file, !env.ca_file.empty(), "");
  options.account =
      pick(flags.account, "account", env.account, !env.account.empty(), "");
  options.tls =
      flags.tls || Truthy(pick("", "tls", env.tls ? "true" : "", env.tls, ""));
  options.default_deadline = absl::Seconds(flags.timeout_seconds);
  options.user_agent = "leadrelay-cli";
  if (options.api_key.empty()) {
    return absl::InvalidArgumentError(
        "no API key: set LEADRELAY_API_KEY, --api-key or a profile's api_key");
  }
  return options;
}

Client* CliContext::client(int* exit_code) {
  if (client_ != nullptr) return client_.get();
  absl::StatusOr<ClientOptions> options = ResolveOptions();
  if (!options.ok()) {
    *exit_code = UsageError(std::string(options.status().message()));
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Create(*std::move(options));
  if (!client.ok()) {
    *exit_code = UsageError(std::string(client.status().message()));
    return nullptr;
  }
  client_ = *std::move(client);
  return client_.get();
}

bool CliContext::json() const {
  if (flags.output == "json") return true;
  if (flags.output == "table") return false;
  return !stdout_tty();
}

bool CliContext::stdout_tty() const { return isatty(STDOUT_FILENO) == 1; }
bool CliContext::stderr_tty() const { return isatty(STDERR_FILENO) == 1; }

int ApiError(const absl::Status& status) {
  std::cerr << "error: " << DescribeError(status) << std::endl;
  return kExitApiError;
}

int UsageError(const std::string& message) {
  std::cerr << "error: usage: " << message << std::endl;
  return kExitUsage;
}

absl::StatusOr<absl::Time> ParseTimeFlag(const std::string& text) {
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &time, &error)) return time;
  absl::Duration ago;
  if (absl::ParseDuration(text, &ago)) return absl::Now() - ago;
  return absl::InvalidArgumentError(absl::StrCat(
      "\"", text, "\" is neither an RFC 3339 time nor a duration like 15m"));
}

}  // namespace leadrelay::cli

namespace leadrelay::cli {
namespace {

volatile std::sig_atomic_t interrupted = 0;

void OnInterrupt(int) {
  if (interrupted) _exit(130);
  interrupted = 1;
}

}  // namespace

void CatchInterrupts() {
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool Interrupted() { return interrupted != 0; }

}  // namespace leadrelay::cli
