// leadrelay: the command-line client. See README "The leadrelay CLI".
#include <curl/curl.h>

#include <iostream>

#include "cli_context.h"

int main(int argc, char** argv) {
  using leadrelay::cli::CliContext;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CliContext ctx;
  int exit_code = leadrelay::cli::kExitOk;
  CLI::App app{
      "leadrelay: the leadrelay API from a terminal.\n"
      "Reads LEADRELAY_GRPC and LEADRELAY_API_KEY (source .run/env); flags "
      "and --profile override them."};
  app.require_subcommand(1);
  app.set_version_flag("--version", leadrelay::kClientVersion);
  ctx.AddGlobalFlags(app);
  // Global flags may come after the command too (subcommands inherit this).
  app.fallthrough();
  leadrelay::cli::AddAccountCommands(app, ctx, &exit_code);
  leadrelay::cli::AddLeadCommands(app, ctx, &exit_code);
  leadrelay::cli::AddWebhookCommands(app, ctx, &exit_code);
  leadrelay::cli::AddEventCommands(app, ctx, &exit_code);
  leadrelay::cli::AddVerifyCommand(app, ctx, &exit_code);
  leadrelay::cli::AddListenCommand(app, ctx, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? leadrelay::cli::kExitOk : leadrelay::cli::kExitUsage;
  }
  return exit_code;
}
