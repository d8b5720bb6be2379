// Platform identities by client certificate (mutual TLS) and on the REST
// surface. A server of its own runs with --tls_cert, --tls_client_ca and
// --http_address; the CAs and certificates are made at test time with the
// openssl command and deleted with the temporary directory.
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gateway/http_client.h"
#include "gtest/gtest.h"
#include "leadrelay/v1/account_admin.grpc.pb.h"
#include "support/harness.h"
#include "support/postgres.h"
#include "support/process.h"

namespace leadrelay::itest {
namespace {

constexpr int kSeconds = 10;

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(kSeconds);
}

absl::StatusOr<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A CA, or a certificate it signed, made with the openssl command.
class TestPki {
 public:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {}

  absl::Status MakeCa(const std::string& name) {
    return Run({"openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=" + name,
                "-keyout",
                Path(name, "key"),
                "-out",
                Path(name, "pem"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign"});
  }

  // A certificate for `cn` signed by `ca`; `extensions` as in an openssl
  // extension file.
  absl::Status MakeCert(const std::string& name, const std::string& cn,
                        const std::string& ca, const std::string& extensions) {
    std::ofstream(Path(name, "ext")) << extensions << "\n";
    absl::Status s =
        Run({"openssl", "req", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + cn,
             "-keyout", Path(name, "key"), "-out", Path(name, "csr")});
    if (!s.ok()) return s;
    return Run({"openssl", "x509", "-req", "-in", Path(name, "csr"), "-CA",
                Path(ca, "pem"), "-CAkey", Path(ca, "key"), "-set_serial",
                absl::StrCat(++serial_), "-days", "1", "-extfile",
                Path(name, "ext"), "-out", Path(name, "pem")});
  }

  std::string Path(const std::string& name, const std::string& ext) const {
    return absl::StrCat(dir_, "/", name, ".", ext);
  }
  std::string Pem(const std::string& name, const std::string& ext) const {
    absl::StatusOr<std::string> text = ReadAll(Path(name, ext));
    return text.ok() ? *text : "";
  }

 private:
  absl::Status Run(std::vector<std::string> argv) {
    argv[0] = "/usr/bin/openssl";
    return RunToCompletion(argv, dir_ + "/openssl.log", 60).status();
  }

  std::string dir_;
  int serial_ = 0;
};

class PlatformTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::Status started = StartWorld();
    if (!started.ok()) setup_error_ = std::string(started.message());
  }
  static void TearDownTestSuite() {
    if (server_ != nullptr) server_->Stop();
    server_.reset();
    db_.reset();
    database_.reset();
    dir_.reset();
  }
  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << "set-up failed: " << setup_error_;
  }
  void TearDown() override {
    if (HasFailure() && server_ != nullptr) {
      std::cerr << FileTail(server_->log_path(), 40) << std::flush;
    }
  }

  static absl::Status StartWorld() {
    auto bin = RequiredEnv("LEADRELAY_SERVER_BIN");
    if (!bin.ok()) return bin.status();
    auto admin_url = RequiredEnv("LEADRELAY_TEST_PG_URL");
    if (!admin_url.ok()) return admin_url.status();
    auto dir = TempDir::Create();
    if (!dir.ok()) return dir.status();
    dir_ = *std::move(dir);
    auto database = TempDatabase::Create(*admin_url);
    if (!database.ok()) return database.status();
    database_ = *std::move(database);

    pki_ = std::make_unique<TestPki>(dir_->path());
    const std::string client_ext = "extendedKeyUsage=clientAuth";
    for (absl::Status s :
         {pki_->MakeCa("ca"), pki_->MakeCa("other-ca"),
          pki_->MakeCert("server", "localhost", "ca",
                         "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                         "extendedKeyUsage=serverAuth"),
          pki_->MakeCert("router", "router", "ca", client_ext),
          pki_->MakeCert("stranger", "stranger", "ca", client_ext),
          pki_->MakeCert("forged-router", "router", "other-ca", client_ext)}) {
      if (!s.ok()) {
        return absl::InternalError(absl::StrCat(
            s.message(), FileTail(dir_->path() + "/openssl.log", 20)));
      }
    }

    // The service the "router" certificates name, and an account.
    const std::string url = database_->url();
    auto platform = RunToCompletion(
        {*bin, "--database_url=" + url, "--bootstrap_platform_service=router",
         "--bootstrap_account=tls-account", "--bootstrap_plan=internal"},
        dir_->path() + "/bootstrap.log", 60);
    if (!platform.ok()) return platform.status();
    for (absl::string_view line : absl::StrSplit(*platform, '\n')) {
      if (absl::ConsumePrefix(&line, "platform_key=")) {
        platform_key_ = std::string(line);
      } else if (absl::ConsumePrefix(&line, "account_id=")) {
        account_id_ = std::string(line);
      } else if (absl::ConsumePrefix(&line, "api_key=")) {
        account_key_ = std::string(line);
      }
    }
    if (platform_key_.empty() || account_key_.empty()) {
      return absl::InternalError("bootstrap printed: " + *platform);
    }
    auto db = PgConnection::Open(url);
    if (!db.ok()) return db.status();
    db_ = *std::move(db);

    auto grpc_port = PickFreePort();
    auto http_port = PickFreePort();
    if (!grpc_port.ok() || !http_port.ok()) {
      return absl::UnavailableError("no free port");
    }
    grpc_address_ = absl::StrCat("127.0.0.1:", *grpc_port);
    http_port_ = *http_port;
    auto server = ChildProcess::Spawn(
        {*bin, "--database_url=" + url, "--grpc_address=" + grpc_address_,
         "--tls_cert=" + pki_->Path("server", "pem"),
         "--tls_key=" + pki_->Path("server", "key"),
         "--tls_client_ca=" + pki_->Path("ca", "pem"),
         absl::StrCat("--http_address=127.0.0.1:", http_port_),
         absl::StrCat("--gateway_config=", LEADRELAY_SOURCE_DIR,
                      "/gateway/envoy.yaml"),
         absl::StrCat("--descriptor_set=", LEADRELAY_DESCRIPTOR_SET),
         "--dispatch_webhooks=false"},
        dir_->path() + "/server.log");
    if (!server.ok()) return server.status();
    server_ = *std::move(server);

    // Ready once a key caller without a certificate gets an answer.
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::seconds(30);
    grpc::Status last;
    while (std::chrono::steady_clock::now() < until) {
      if (!server_->IsRunning()) break;
      grpc::ClientContext context;
      context.set_wait_for_ready(true);
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(1));
      context.AddMetadata("authorization", "Bearer " + account_key_);
      v1::GetCreditsResponse credits;
      last = Api(Channel(""))
                 .accounts->GetCredits(&context, v1::GetCreditsRequest(),
                                       &credits);
      if (last.ok()) return absl::OkStatus();
    }
    return absl::UnavailableError(
        absl::StrCat("TLS server not ready: ", Describe(last),
                     FileTail(server_->log_path(), 30)));
  }

  // A TLS channel that trusts the test CA, presenting the client
  // certificate `client` ("" for none).
  static std::shared_ptr<grpc::Channel> Channel(const std::string& client) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = pki_->Pem("ca", "pem");
    if (!client.empty()) {
      ssl.pem_private_key = pki_->Pem(client, "key");
      ssl.pem_cert_chain = pki_->Pem(client, "pem");
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    // A fresh connection per channel, so each test's handshake is its own.
    args.SetInt("grpc.use_local_subchannel_pool", 1);
    return grpc::CreateCustomChannel(grpc_address_, grpc::SslCredentials(ssl),
                                     args);
  }

  static grpc::Status CreateLeadAs(const std::string& client,
                                   const std::string& key) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    if (!key.empty()) context.AddMetadata("authorization", "Bearer " + key);
    context.AddMetadata("x-leadrelay-account", account_id_);
    v1::CreateLeadRequest request;
    v1::Lead* lead = request.mutable_lead();
    lead->set_vertical("solar");
    lead->set_first_name("Thandi");
    lead->set_last_name("Mokoena");
    lead->set_suburb("Sandton");
    lead->set_province("Gauteng");
    lead->set_service_type("rooftop_install");
    lead->set_budget_range("R50k-R100k");
    lead->set_urgency("this_month");
    lead->set_phone("+27821234567");
    lead->set_email("thandi@example.com");
    lead->set_score(72);
    lead->set_source("web_form");
    v1::Lead created;
    return Api(Channel(client)).leads->CreateLead(&context, request, &created);
  }

  static int64_t Sql(const std::string& sql) {
    auto value = db_->QueryInt(sql, {account_id_});
    return value.ok() ? *value : -1;
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<TempDatabase> database_;
  static inline std::unique_ptr<PgConnection> db_;
  static inline std::unique_ptr<TestPki> pki_;
  static inline std::unique_ptr<ChildProcess> server_;
  static inline std::string setup_error_;
  static inline std::string grpc_address_;
  static inline int http_port_ = 0;
  static inline std::string platform_key_;
  static inline std::string account_id_;
  static inline std::string account_key_;
};

TEST_F(PlatformTlsTest, CertificateFromTheConfiguredCaActsAsItsService) {
  const int64_t before =
      Sql("SELECT count(*) FROM credit_ledger WHERE account_id = $1 AND "
          "service = 'router'");
  ASSERT_TRUE(IsOk(CreateLeadAs("router", "")));
  EXPECT_EQ(Sql("SELECT count(*) FROM credit_ledger WHERE account_id = $1 "
                "AND service = 'router'"),
            before + 1);

  // It may administer accounts too.
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v1::GetAccountRequest request;
  request.set_id(account_id_);
  v1::Account account;
  EXPECT_TRUE(IsOk(v1::AccountAdminService::NewStub(Channel("router"))
                       ->GetAccount(&context, request, &account)));
  EXPECT_EQ(account.name(), "tls-account");
}

TEST_F(PlatformTlsTest, CertificateFromAnotherCaIsRefusedAtHandshake) {
  const int64_t leads = Sql("SELECT count(*) FROM leads WHERE account_id = $1");
  grpc::Status status = CreateLeadAs("forged-router", "");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << Describe(status);
  EXPECT_EQ(Sql("SELECT count(*) FROM leads WHERE account_id = $1"), leads);
}

TEST_F(PlatformTlsTest, CertificateOfAnUnregisteredServiceIsUnauthenticated) {
  EXPECT_TRUE(HasError(CreateLeadAs("stranger", ""),
                       grpc::StatusCode::UNAUTHENTICATED, "unauthorized"));
}

TEST_F(PlatformTlsTest, KeyCallersNeedNoCertificate) {
  EXPECT_TRUE(IsOk(CreateLeadAs("", account_key_)));
  EXPECT_TRUE(IsOk(CreateLeadAs("", platform_key_)));
}

TEST_F(PlatformTlsTest, PlatformKeysAreRefusedOnTheRestSurface) {
  using gateway::testing::Fetch;
  auto platform = Fetch(http_port_, "GET", "/v1/credits", "",
                        {"Authorization: Bearer " + platform_key_,
                         "X-LeadRelay-Account: " + account_id_});
  EXPECT_EQ(platform.status, 403) << platform.body;
  // Claiming to have come over gRPC changes nothing.
  auto forged = Fetch(
      http_port_, "GET", "/v1/credits", "",
      {"Authorization: Bearer " + platform_key_,
       "X-LeadRelay-Account: " + account_id_, "X-LeadRelay-Surface: grpc"});
  EXPECT_EQ(forged.status, 403) << forged.body;
  auto own = Fetch(http_port_, "GET", "/v1/credits", "",
                   {"Authorization: Bearer " + account_key_});
  EXPECT_EQ(own.status, 200) << own.body;
}

}  // namespace
}  // namespace leadrelay::itest
