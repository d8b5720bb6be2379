#include "support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace leadrelay::itest {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<char*> ArgvPointers(const std::vector<std::string>& argv) {
  std::vector<char*> pointers;
  pointers.reserve(argv.size() + 1);
  for (const std::string& arg : argv) {
    pointers.push_back(const_cast<char*>(arg.c_str()));
  }
  pointers.push_back(nullptr);
  return pointers;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(status));
  }
  return absl::StrCat("wait status ", status);
}

// Waits for `pid` up to `timeout`. Returns true (and the status) if it exited.
bool WaitWithTimeout(pid_t pid, Clock::duration timeout, int* status) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    pid_t done = waitpid(pid, status, WNOHANG);
    if (done == pid) return true;
    if (done < 0 && errno != EINTR) return true;  // Already reaped elsewhere.
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

absl::StatusOr<std::string> RequiredEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0') {
    return absl::FailedPreconditionError(absl::StrCat(
        "environment variable ", name,
        " is not set. The integration tests need LEADRELAY_SERVER_BIN (path "
        "to leadrelay-server) and LEADRELAY_TEST_PG_URL (admin URL of a "
        "throwaway PostgreSQL, e.g. postgresql://postgres@127.0.0.1:5432/"
        "postgres); scripts/test sets both."));
  }
  return std::string(value);
}

absl::StatusOr<int> PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return absl::InternalError(
        absl::StrCat("cannot bind 127.0.0.1:0: ", std::strerror(errno)));
  }
  int port = ntohs(address.sin_port);
  close(fd);
  return port;
}

absl::StatusOr<std::unique_ptr<TempDir>> TempDir::Create() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(base != nullptr && *base != '\0' ? base : "/tmp",
                   "/leadrelay-itest.XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("mkdtemp failed: ", std::strerror(errno)));
  }
  return std::unique_ptr<TempDir>(new TempDir(pattern));
}

TempDir::~TempDir() {
  if (keep_) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string FileTail(const std::string& path, int lines) {
  std::ifstream in(path);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  return absl::StrJoin(tail, "\n");
}

absl::StatusOr<std::string> RunToCompletion(
    const std::vector<std::string>& argv, const std::string& stderr_path,
    int timeout_seconds) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError("pipe2() failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<char*> args = ArgvPointers(argv);
  pid_t pid = 0;
  int spawn_error =
      posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawn_error != 0) {
    close(pipe_fds[0]);
    return absl::InternalError(absl::StrCat("cannot start ", argv[0], ": ",
                                            std::strerror(spawn_error)));
  }

  std::string output;
  const Clock::time_point deadline =
      Clock::now() + std::chrono::seconds(timeout_seconds);
  bool timed_out = false;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd poll_fd{pipe_fds[0], POLLIN, 0};
    int ready = poll(&poll_fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // Timeout is handled at the top.
    char buffer[4096];
    ssize_t n = read(pipe_fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child closed stdout.
    output.append(buffer, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);

  int status = 0;
  if (timed_out ||
      !WaitWithTimeout(pid, std::chrono::seconds(timeout_seconds), &status)) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return absl::DeadlineExceededError(absl::StrCat(
        absl::StrJoin(argv, " "), " did not finish within ", timeout_seconds,
        " s; stderr tail:\n", FileTail(stderr_path, 20)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(
        absl::StrJoin(argv, " "), " ", DescribeWaitStatus(status),
        "; stdout:\n", output, "\nstderr tail:\n", FileTail(stderr_path, 20)));
  }
  return output;
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(
    const std::vector<std::string>& argv, const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> args = ArgvPointers(argv);
  pid_t pid = 0;
  int spawn_error =
      posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) {
    return absl::InternalError(absl::StrCat("cannot start ", argv[0], ": ",
                                            std::strerror(spawn_error)));
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, log_path));
}

ChildProcess::~ChildProcess() {
  if (!exited_) Stop();
}

bool ChildProcess::IsRunning() {
  if (exited_) return false;
  pid_t done = waitpid(pid_, &wait_status_, WNOHANG);
  if (done == pid_ || (done < 0 && errno == ECHILD)) exited_ = true;
  return !exited_;
}

std::string ChildProcess::Stop(int grace_seconds) {
  if (!IsRunning()) return ExitDescription();
  kill(pid_, SIGTERM);
  if (!WaitWithTimeout(pid_, std::chrono::seconds(grace_seconds),
                       &wait_status_)) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &wait_status_, 0);
    exited_ = true;
    return absl::StrCat("did not stop within ", grace_seconds,
                        " s of SIGTERM; killed");
  }
  exited_ = true;
  return ExitDescription();
}

std::string ChildProcess::ExitDescription() const {
  if (!exited_) return "running";
  return DescribeWaitStatus(wait_status_);
}

}  // namespace leadrelay::itest
