// The server's operational surface: the standard gRPC health service, TLS
// when given a certificate, and a clean exit on SIGTERM.
#include <sys/wait.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "support/fixture.h"

namespace leadrelay::itest {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// grpc.health.v1.Health/Check for service "" through a generic stub: the
// health protos are not part of our build, and the wire form is tiny.
absl::StatusOr<std::string> HealthCheck(
    const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  // HealthCheckRequest{} is empty on the wire: one empty slice.
  grpc::Slice empty(std::string{});
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", {}, &request,
                 &response, [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = std::move(s);
                   done = true;
                   cv.notify_all();
                 });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  if (!status.ok()) return absl::UnavailableError(status.error_message());
  std::vector<grpc::Slice> slices;
  (void)response.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return bytes;
}

class ServerSurfaceTest : public ServerTest {};

TEST_F(ServerSurfaceTest, HealthServiceReportsServing) {
  auto bytes = HealthCheck(api().channel);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  // HealthCheckResponse{status: SERVING (1)}.
  EXPECT_EQ(*bytes, std::string("\x08\x01", 2));
}

TEST_F(ServerSurfaceTest, ServesTlsWithTheGivenCertificateAndExitsOnSigterm) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  std::string cert = (*dir)->path() + "/cert.pem";
  std::string key = (*dir)->path() + "/key.pem";
  auto made = RunToCompletion(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
       "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
       "-keyout", key, "-out", cert, "-days", "1"},
      (*dir)->path() + "/openssl.log", 60);
  ASSERT_TRUE(made.ok()) << made.status();

  auto server_bin = RequiredEnv("LEADRELAY_SERVER_BIN");
  ASSERT_TRUE(server_bin.ok());
  auto port = PickFreePort();
  ASSERT_TRUE(port.ok());
  std::string address = absl::StrCat("127.0.0.1:", *port);
  auto server = ChildProcess::Spawn(
      {*server_bin, "--database_url=" + harness().database_url(),
       "--grpc_address=" + address, "--tls_cert=" + cert, "--tls_key=" + key},
      (*dir)->path() + "/server.log");
  ASSERT_TRUE(server.ok()) << server.status();

  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFile(cert);
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto tls =
      grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
  ASSERT_TRUE(tls->WaitForConnected(std::chrono::system_clock::now() +
                                    std::chrono::seconds(20)))
      << FileTail((*server)->log_path(), 20);
  Api api(tls);
  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::GetMeResponse me;
  EXPECT_TRUE(IsOk(api.accounts->GetMe(&context, {}, &me)));

  // Plain-text clients are refused by the TLS port.
  Api plain(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext plain_context;
  Authorize(&plain_context, key_);
  EXPECT_FALSE(plain.accounts->GetMe(&plain_context, {}, &me).ok());

  // SIGTERM: drains and exits 0 (not killed after the grace period).
  EXPECT_EQ((*server)->Stop(), "exited 0");
}

}  // namespace
}  // namespace leadrelay::itest
