// The two servers the side-by-side benchmark starts and always stops: a child
// process with its stdout on a pipe (for start-up lines), killed with its parent.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rideshard::peer {

/// One child process. Owns it: the destructor stops it (SIGTERM, then SIGKILL
/// after a grace period) and reaps it. The child also gets SIGKILL if this
/// process dies first (PR_SET_PDEATHSIG). Not thread-safe.
class child_process {
 public:
  child_process() = default;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  child_process(child_process&& other) noexcept;
  child_process& operator=(child_process&& other) noexcept;
  ~child_process();

  /// Starts argv[0] (searched in PATH) with stdout on a pipe and stderr appended
  /// to `stderr_path` ("" = inherited). Returns an error message on failure.
  [[nodiscard]] static std::optional<std::string> spawn(const std::vector<std::string>& argv,
                                                        const std::string& stderr_path,
                                                        child_process& out);

  /// Reads stdout lines until one contains `needle` or `timeout` passes.
  /// Returns that line, or nothing (timeout, EOF: the child exited).
  std::optional<std::string> wait_for_line(const std::string& needle,
                                           std::chrono::milliseconds timeout);

  /// Reads stdout until EOF (returns everything unread) or `timeout` (nothing).
  std::optional<std::string> read_to_eof(std::chrono::milliseconds timeout);

  /// True while the child has not exited.
  bool running();
  /// SIGTERM, wait up to `grace`, then SIGKILL; reaps. Returns the exit status
  /// (or 128 + signal). Idempotent.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string pending_;  ///< stdout bytes read but not yet returned as a line
  int status_ = 0;
};

/// Runs a command to completion and returns its stdout (bounded by `timeout`);
/// nothing when it fails, times out or exits non-zero.
std::optional<std::string> run_capture(const std::vector<std::string>& argv,
                                       std::chrono::milliseconds timeout);

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close).
std::uint16_t pick_free_port();

}  // namespace rideshard::peer
