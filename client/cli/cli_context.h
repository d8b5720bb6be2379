// What every command shares: the global flags, the client built from flags,
// profile and environment, the output mode, and the error conventions
// (stderr "error: <reason>: <message>"; exit 0 ok, 1 API error, 2 usage).
#ifndef LEADRELAY_CLIENT_CLI_CLI_CONTEXT_H_
#define LEADRELAY_CLIENT_CLI_CLI_CONTEXT_H_

#include <memory>
#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "leadrelay/client.h"

namespace leadrelay::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitApiError = 1;
inline constexpr int kExitUsage = 2;

struct GlobalFlags {
  std::string grpc;
  std::string api_key;
  std::string profile;
  std::string config;
  std::string ca_file;
  std::string account;
  bool tls = false;
  std::string output = "auto";  // auto, table, json
  double timeout_seconds = 30;
};

class CliContext {
 public:
  GlobalFlags flags;

  // Registers the global flags on the top-level app.
  void AddGlobalFlags(CLI::App& app);

  // The client, built on first use. A configuration problem is reported
  // (exit 2) and nullptr returned.
  Client* client(int* exit_code);
  // Options as resolved (flags > --profile > environment > [default]).
  absl::StatusOr<ClientOptions> ResolveOptions() const;

  bool json() const;
  bool stdout_tty() const;
  bool stderr_tty() const;

 private:
  std::unique_ptr<Client> client_;
};

// Prints "error: <reason>: <message>" and returns kExitApiError.
int ApiError(const absl::Status& status);
// Prints "error: usage: <message>" and returns kExitUsage.
int UsageError(const std::string& message);

// RFC 3339, or a duration meaning that long ago ("15m", "2h").
absl::StatusOr<absl::Time> ParseTimeFlag(const std::string& text);

// Helpers that register the command groups (one file each).
void AddAccountCommands(CLI::App& app, CliContext& ctx, int* exit_code);
void AddLeadCommands(CLI::App& app, CliContext& ctx, int* exit_code);
void AddWebhookCommands(CLI::App& app, CliContext& ctx, int* exit_code);
void AddEventCommands(CLI::App& app, CliContext& ctx, int* exit_code);
void AddVerifyCommand(CLI::App& app, CliContext& ctx, int* exit_code);
void AddListenCommand(CLI::App& app, CliContext& ctx, int* exit_code);

}  // namespace leadrelay::cli

#endif  // LEADRELAY_CLIENT_CLI_CLI_CONTEXT_H_

namespace leadrelay::cli {

// Ctrl-C / SIGTERM for the long-running commands (tail, listen): the first
// signal sets a flag the command polls so it can stop cleanly and print
// where to resume; a second one exits at once.
void CatchInterrupts();
bool Interrupted();

}  // namespace leadrelay::cli
