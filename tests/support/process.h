// Child processes of the tests: leadrelay-server instances and the one-shot
// account bootstrap. Started with posix_spawn (no shell); output goes to log
// files in a per-binary temporary directory.

#ifndef LEADRELAY_TESTS_SUPPORT_PROCESS_H_
#define LEADRELAY_TESTS_SUPPORT_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace leadrelay::itest {

// Returns the value of environment variable `name`, or an error that says
// what to set when it is missing or empty.
absl::StatusOr<std::string> RequiredEnv(const std::string& name);

// A TCP port on 127.0.0.1 that was free when this was called.
absl::StatusOr<int> PickFreePort();

// A directory created with mkdtemp and removed, with its contents, on
// destruction (unless Keep() was called).
class TempDir {
 public:
  static absl::StatusOr<std::unique_ptr<TempDir>> Create();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  void Keep() { keep_ = true; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}

  std::string path_;
  bool keep_ = false;
};

// The last `lines` lines of the file at `path` ("" if unreadable).
std::string FileTail(const std::string& path, int lines);

// Runs `argv` to completion (bounded by `timeout_seconds`), appending its
// stderr to `stderr_path`. Returns its stdout; an error if it could not be
// started, timed out, or exited non-zero.
absl::StatusOr<std::string> RunToCompletion(
    const std::vector<std::string>& argv, const std::string& stderr_path,
    int timeout_seconds);

// A long-running child process with stdout and stderr sent to a log file.
class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(
      const std::vector<std::string>& argv, const std::string& log_path);

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Stops the process if it is still running.
  ~ChildProcess();

  // True while the process has not exited. Reaps it once it has.
  bool IsRunning();
  // Sends SIGTERM, waits up to `grace_seconds`, then SIGKILLs. Returns a
  // description of how it ended.
  std::string Stop(int grace_seconds = 10);

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // Describes the exit status once the process is gone.
  std::string ExitDescription() const;

 private:
  ChildProcess(pid_t pid, std::string log_path)
      : pid_(pid), log_path_(std::move(log_path)) {}

  pid_t pid_;
  std::string log_path_;
  bool exited_ = false;
  int wait_status_ = 0;
};

}  // namespace leadrelay::itest

#endif  // LEADRELAY_TESTS_SUPPORT_PROCESS_H_
