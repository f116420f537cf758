// The built `rideshard serve` as a child of the load program: started on
// 127.0.0.1:0 with a fresh data dir, port parsed from its listening line, RSS
// read from /proc, stopped with SIGTERM (SIGKILL after a bound).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "rideshard/engine/result.hpp"

namespace rideshard::load {

/// One node process. Not thread-safe; owned by the run that started it.
class node_child {
 public:
  /// Starts `binary serve --config config --listen 127.0.0.1:0 --data-dir <tmp>`
  /// with $RIDESHARD_JWT_SECRET = jwt_secret and logs at warn (stderr to
  /// <tmp>/node.log). Waits (bounded, 30 s) for the listening line.
  /// Errors: unavailable (exec failed, no listening line).
  static result<std::unique_ptr<node_child>> start(const std::string& binary,
                                                   const std::string& config,
                                                   const std::string& jwt_secret);
  ~node_child();
  node_child(const node_child&) = delete;
  node_child& operator=(const node_child&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  /// VmRSS of the node in bytes (0 if unreadable).
  std::uint64_t rss_bytes() const;
  /// The node's soft RLIMIT_NOFILE ("Max open files" in /proc/<pid>/limits), 0 if unknown.
  std::uint64_t fd_limit() const;
  /// SIGTERM and wait (bounded: SIGKILL after 20 s). Returns the exit status.
  int stop();

 private:
  node_child() = default;
  pid_t pid_ = -1;
  int out_ = -1;  ///< read end of the node's stdout
  std::uint16_t port_ = 0;
  std::string dir_;
};

/// GET `path` from 127.0.0.1:port over HTTP/1.1 (Connection: close), bounded
/// by 5 s. Returns the body. Errors: unavailable (connect/IO), internal (status).
result<std::string> http_get(std::uint16_t port, const std::string& path);

}  // namespace rideshard::load
