// Webhook secrets at rest, over a real server: the webhooks table holds
// ciphertext and a key id, never a secret; deliveries are still signed with
// the secret after a restart, after the master key is rotated (re-encrypt,
// old key removed), and for rows written in plaintext before encryption.
// The API shows only a hint of a secret. Signatures are recomputed here.

#include <openssl/rand.h>

#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "delivery/delivery_env.h"
#include "delivery/http_receiver.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadrelay::dtest {
namespace {

using itest::Authorize;
using itest::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kWait = absl::Seconds(30);

// "ID:BASE64" of 32 fresh random bytes.
std::string NewKeyLine(const std::string& id) {
  unsigned char bytes[32];
  EXPECT_EQ(RAND_bytes(bytes, sizeof(bytes)), 1);
  return absl::StrCat(id, ":",
                      absl::Base64Escape(absl::string_view(
                          reinterpret_cast<const char*>(bytes), 32)));
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

class SecretStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<DeliveryEnv>> env = DeliveryEnv::Create();
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = *std::move(env);
    absl::StatusOr<std::unique_ptr<itest::TempDir>> dir =
        itest::TempDir::Create();
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = *std::move(dir);
    key_file_ = dir_->path() + "/master.key";
    k1_ = NewKeyLine("k1");
    WriteFile(key_file_, k1_ + "\n");
    std::vector<std::string> flags = FastDispatchFlags();
    flags.push_back("--secrets_key_file=" + key_file_);
    absl::StatusOr<int> server = env_->StartServer(flags);
    ASSERT_TRUE(server.ok()) << server.status();
    absl::StatusOr<Account> account =
        env_->Bootstrap(itest::UniqueName("acct"));
    ASSERT_TRUE(account.ok()) << account.status();
    key_ = account->admin_key;
    absl::StatusOr<std::unique_ptr<HttpReceiver>> receiver =
        HttpReceiver::Start();
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = *std::move(receiver);
  }

  void TearDown() override {
    if (HasFailure() && env_ != nullptr) {
      env_->KeepLogs();
      std::cerr << env_->LogTails() << std::flush;
    }
  }

  Api& api() { return env_->api(0); }

  v1::CreateWebhookResponse NewHook(const std::string& path,
                                    const std::string& secret = "") {
    v1::CreateWebhookResponse created;
    EXPECT_TRUE(IsOk(CreateWebhook(api(), key_, receiver_->Url(path),
                                   {"follower.gained"}, &created, secret)));
    return created;
  }

  // The stored columns of webhook `id`: secret, secret_key_id,
  // previous_secret, previous_secret_key_id, secret_hint.
  std::vector<std::string> StoredRow(const std::string& id) {
    auto rows = env_->db().Query(
        "SELECT secret, coalesce(secret_key_id, '<null>'),"
        " coalesce(previous_secret, ''), coalesce(previous_secret_key_id, ''),"
        " secret_hint FROM webhooks WHERE id = $1",
        {id});
    if (!rows.ok() || rows->size() != 1) {
      ADD_FAILURE() << "no webhook row " << id;
      return std::vector<std::string>(5);
    }
    return (*rows)[0];
  }

  // Publishes one event and waits for `n` more requests at the receiver;
  // returns the event's cursor.
  std::string PublishAndWait(size_t n) {
    size_t before = receiver_->RequestCount();
    v1::PublishEventResponse published;
    EXPECT_TRUE(IsOk(Publish(
        api(), key_, FollowerGained(itest::UniqueName("f")), &published)));
    EXPECT_TRUE(receiver_->WaitForRequests(before + n, kWait))
        << env_->LogTails();
    return published.event().cursor();
  }

  // The newest request on `path` carries a hex signature made with `secret`.
  void ExpectSignedWith(const std::string& path, const std::string& secret) {
    std::vector<ReceivedRequest> requests = receiver_->Requests();
    for (auto it = requests.rbegin(); it != requests.rend(); ++it) {
      if (it->path != path) continue;
      std::vector<std::string> signatures =
          absl::StrSplit(it->Header("x-leadrelay-signature"), ' ');
      std::set<std::string> set(signatures.begin(), signatures.end());
      EXPECT_EQ(set.count(LowerHex(HmacSha256Raw(secret, it->body))), 1u)
          << path << ": " << it->Header("x-leadrelay-signature");
      return;
    }
    ADD_FAILURE() << "no request on " << path;
  }

  grpc::Status ListAfter(const std::string& cursor) {
    grpc::ClientContext context;
    Authorize(&context, key_);
    v1::ListEventsRequest request;
    request.set_after(cursor);
    v1::ListEventsResponse response;
    return api().events->ListEvents(&context, request, &response);
  }

  std::string RunServerOnce(const std::vector<std::string>& flags, bool* ok) {
    absl::StatusOr<std::string> bin =
        itest::RequiredEnv("LEADRELAY_SERVER_BIN");
    EXPECT_TRUE(bin.ok());
    std::vector<std::string> argv = {*bin,
                                     "--database_url=" + env_->database_url()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    std::string log = dir_->path() + "/once.log";
    absl::StatusOr<std::string> out = itest::RunToCompletion(argv, log, 60);
    *ok = out.ok();
    return out.ok() ? *out : itest::FileTail(log, 20);
  }

  std::unique_ptr<DeliveryEnv> env_;
  std::unique_ptr<itest::TempDir> dir_;
  std::string key_file_;
  std::string k1_;
  std::string key_;
  std::unique_ptr<HttpReceiver> receiver_;
};

TEST_F(SecretStorageTest, TableHoldsCiphertextAndApiShowsOnlyAHint) {
  v1::CreateWebhookResponse generated = NewHook("/generated");
  const std::string custom_secret = "my-very-own-signing-secret-42";
  v1::CreateWebhookResponse custom = NewHook("/custom", custom_secret);
  ASSERT_THAT(generated.secret(), testing::StartsWith("whsec_"));

  for (const auto& [hook, secret] : {std::pair{generated, generated.secret()},
                                     std::pair{custom, custom_secret}}) {
    std::vector<std::string> row = StoredRow(hook.webhook_id());
    EXPECT_EQ(row[1], "k1");
    EXPECT_THAT(row[0], Not(HasSubstr(secret)));
    EXPECT_THAT(row[0], Not(HasSubstr(secret.substr(6, 8))));
    // Everything the API shows of it.
    v1::Webhook shown;
    ASSERT_TRUE(IsOk(GetWebhook(api(), key_, hook.webhook_id(), &shown)));
    EXPECT_EQ(shown.secret_prefix(), row[4]);
  }
  EXPECT_EQ(StoredRow(generated.webhook_id())[4],
            generated.secret().substr(0, 10));  // "whsec_" + 4
  EXPECT_EQ(StoredRow(custom.webhook_id())[4], "(custom)");
  EXPECT_EQ(custom.webhook().secret_prefix(), "(custom)");

  // A rotation keeps the old secret signing for a while, encrypted too.
  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::RotateWebhookSecretRequest rotate;
  rotate.set_id(custom.webhook_id());
  rotate.set_secret("another-own-secret-of-mine-77");
  v1::RotateWebhookSecretResponse rotated;
  ASSERT_TRUE(
      IsOk(api().webhooks->RotateWebhookSecret(&context, rotate, &rotated)));
  EXPECT_EQ(rotated.webhook().secret_prefix(), "(custom)");
  std::vector<std::string> row = StoredRow(custom.webhook_id());
  EXPECT_THAT(row[0], Not(HasSubstr("another-own")));
  EXPECT_THAT(row[2], Not(HasSubstr(custom_secret)));
  EXPECT_FALSE(row[2].empty());
  EXPECT_EQ(row[3], "k1");

  // No table holds a secret in clear.
  for (const std::string& secret :
       {generated.secret(), custom_secret,
        std::string("another-own-secret-of-mine-77")}) {
    EXPECT_EQ(*env_->db().QueryInt(
                  "SELECT count(*) FROM webhooks WHERE secret = $1 OR "
                  "previous_secret = $1 OR strpos(secret, $1) > 0",
                  {secret}),
              0);
  }

  // Deliveries are signed with the plaintext, before and after a restart
  // that reads the same key file.
  PublishAndWait(2);
  ExpectSignedWith("/generated", generated.secret());
  ExpectSignedWith("/custom", "another-own-secret-of-mine-77");
  ExpectSignedWith("/custom", custom_secret);
  ASSERT_TRUE(env_->RestartServer(0).ok());
  PublishAndWait(2);
  ExpectSignedWith("/generated", generated.secret());
  ExpectSignedWith("/custom", custom_secret);
}

TEST_F(SecretStorageTest, MasterKeyRotationReencryptsAndOldKeyCanGo) {
  v1::CreateWebhookResponse hook = NewHook("/hook");
  const std::string old_cursor = PublishAndWait(1);
  ExpectSignedWith("/hook", hook.secret());

  // Re-encryption refuses when a secret's key is not loaded, naming it.
  const std::string other_file = dir_->path() + "/other.key";
  WriteFile(other_file, NewKeyLine("k3") + "\n");
  bool ok = true;
  std::string out = RunServerOnce(
      {"--reencrypt_secrets", "--secrets_key_file=" + other_file}, &ok);
  EXPECT_FALSE(ok) << out;
  EXPECT_THAT(out, HasSubstr("'k1'"));
  EXPECT_EQ(StoredRow(hook.webhook_id())[1], "k1");

  // 1. A new active key first, the old one still loaded: old cursors and
  //    secrets still open.
  const std::string k2 = NewKeyLine("k2");
  WriteFile(key_file_, k2 + "\n" + k1_ + "\n");
  ASSERT_TRUE(env_->RestartServer(0).ok());
  EXPECT_TRUE(IsOk(ListAfter(old_cursor)));
  PublishAndWait(1);
  ExpectSignedWith("/hook", hook.secret());

  // 2. Re-encrypt everything under the new key.
  out = RunServerOnce(
      {"--reencrypt_secrets", "--secrets_key_file=" + key_file_}, &ok);
  ASSERT_TRUE(ok) << out;
  EXPECT_THAT(out, HasSubstr("reencrypted=1"));
  EXPECT_THAT(out, HasSubstr("active_key=k2"));
  std::vector<std::string> row = StoredRow(hook.webhook_id());
  EXPECT_EQ(row[1], "k2");
  EXPECT_THAT(row[0], Not(HasSubstr(hook.secret())));

  // 3. The old key removed: deliveries still sign with the same secret.
  WriteFile(key_file_, k2 + "\n");
  ASSERT_TRUE(env_->RestartServer(0).ok());
  const std::string new_cursor = PublishAndWait(1);
  ExpectSignedWith("/hook", hook.secret());
  EXPECT_TRUE(IsOk(ListAfter(new_cursor)));
  // Cursors sealed under the removed key no longer open.
  EXPECT_TRUE(itest::HasError(ListAfter(old_cursor),
                              grpc::StatusCode::INVALID_ARGUMENT,
                              "invalid_request"));
}

TEST_F(SecretStorageTest, PlaintextRowsFromBeforeAreEncryptedAtStartUp) {
  v1::CreateWebhookResponse hook = NewHook("/legacy");
  // As a row written before migration 0020 looks.
  const std::string plain = "legacy-plaintext-secret-0001";
  ASSERT_TRUE(env_->db()
                  .Exec("UPDATE webhooks SET secret = $1, secret_key_id = NULL"
                        " WHERE id = $2",
                        {plain, hook.webhook_id()})
                  .ok());
  ASSERT_TRUE(env_->RestartServer(0).ok());
  std::vector<std::string> row = StoredRow(hook.webhook_id());
  EXPECT_EQ(row[1], "k1");
  EXPECT_THAT(row[0], Not(HasSubstr(plain)));
  PublishAndWait(1);
  ExpectSignedWith("/legacy", plain);
}

}  // namespace
}  // namespace leadrelay::dtest
