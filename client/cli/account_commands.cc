// me, credits, stats, keys create|list|revoke.
#include <iostream>

#include "cli_context.h"
#include "output.h"

namespace leadrelay::cli {

void AddAccountCommands(CLI::App& app, CliContext& ctx, int* rc) {
  app.add_subcommand("me", "the account and the key in use")
      ->callback([&ctx, rc] {
        Client* client = ctx.client(rc);
        if (client == nullptr) return;
        auto me = client->GetMe();
        *rc = me.ok() ? kExitOk : ApiError(me.status());
        if (me.ok()) PrintObject(ctx, *me);
      });
  app.add_subcommand("credits", "credit balance and plan")
      ->callback([&ctx, rc] {
        Client* client = ctx.client(rc);
        if (client == nullptr) return;
        auto credits = client->GetCredits();
        *rc = credits.ok() ? kExitOk : ApiError(credits.status());
        if (credits.ok()) PrintObject(ctx, *credits);
      });
  app.add_subcommand("stats", "lead counts, conversion, quota")
      ->callback([&ctx, rc] {
        Client* client = ctx.client(rc);
        if (client == nullptr) return;
        auto stats = client->GetAccountStats();
        *rc = stats.ok() ? kExitOk : ApiError(stats.status());
        if (stats.ok()) PrintObject(ctx, *stats);
      });

  CLI::App* keys = app.add_subcommand("keys", "API keys (admin scope)");
  keys->require_subcommand(1);
  static v1::CreateApiKeyRequest create_req_storage;
  auto* create_req = &create_req_storage;
  static std::vector<std::string> scopes_storage;
  auto* scopes = &scopes_storage;
  CLI::App* create = keys->add_subcommand(
      "create", "create a key; the key is shown once, here");
  create->add_option("--name", *create_req->mutable_name(), "a label")
      ->required();
  create
      ->add_option("--scopes", *scopes,
                   "read, write, ingest, admin (comma-separated)")
      ->delimiter(',')
      ->required();
  create->callback([&ctx, rc, create_req, scopes] {
    Client* client = ctx.client(rc);
    if (client == nullptr) return;
    for (const std::string& s : *scopes) create_req->add_scopes(s);
    auto created = client->CreateApiKey(*create_req);
    *rc = created.ok() ? kExitOk : ApiError(created.status());
    if (created.ok()) PrintObject(ctx, *created);
  });
  keys->add_subcommand("list", "every key of the account")
      ->callback([&ctx, rc] {
        Client* client = ctx.client(rc);
        if (client == nullptr) return;
        auto list = client->ListApiKeys();
        *rc = list.ok() ? kExitOk : ApiError(list.status());
        if (list.ok()) {
          PrintList(ctx, *list, "api_keys",
                    {{"ID", "id"},
                     {"NAME", "name"},
                     {"PREFIX", "prefix"},
                     {"SCOPES", "scopes"},
                     {"LAST USED", "last_used_at"},
                     {"REVOKED", "revoked_at"}});
        }
      });
  static v1::RevokeApiKeyRequest revoke_req_storage;
  auto* revoke_req = &revoke_req_storage;
  CLI::App* revoke = keys->add_subcommand("revoke", "revoke a key now");
  revoke->add_option("id", *revoke_req->mutable_id(), "key id")->required();
  revoke->callback([&ctx, rc, revoke_req] {
    Client* client = ctx.client(rc);
    if (client == nullptr) return;
    auto revoked = client->RevokeApiKey(*revoke_req);
    *rc = revoked.ok() ? kExitOk : ApiError(revoked.status());
    if (revoked.ok()) PrintObject(ctx, *revoked);
  });
}

}  // namespace leadrelay::cli
