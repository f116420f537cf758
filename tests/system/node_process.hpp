// The built `rideshard serve` as a child process for system tests: listens on
// 127.0.0.1:0 with a fresh (or a given) data dir, reports its port on stdout, and
// is killed (SIGKILL) if a test ends without stopping it.
#pragma once

#include <doctest/doctest.h>
#include <algorithm>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace rideshard::system_test {

/// $RIDESHARD_VAULT_KEY of the nodes the system tests start (not --dev ones).
inline constexpr const char* test_vault_key =
    "5e5e5e5e0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c";

/// Data dirs made by node_process::fresh_data_dir(), removed when the test
/// program exits (after every node_process is gone: they are locals). Set
/// RIDESHARD_KEEP_TEST_DIRS=1 to keep them for a look after a failure.
class test_dirs {
 public:
  static test_dirs& instance() {
    static test_dirs dirs;
    return dirs;
  }
  void add(std::string dir) {
    std::lock_guard<std::mutex> lock(mu_);
    dirs_.push_back(std::move(dir));
  }
  ~test_dirs() {
    const char* keep = std::getenv("RIDESHARD_KEEP_TEST_DIRS");
    if (keep && *keep && std::string(keep) != "0") return;
    for (const auto& d : dirs_) {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  }

 private:
  test_dirs() = default;
  std::mutex mu_;
  std::vector<std::string> dirs_;
};

struct node_process {
  pid_t pid = -1;
  FILE* out = nullptr;
  unsigned short port = 0;

  std::string data_dir;

  /// Starts the node; `jwt_secret` becomes $RIDESHARD_JWT_SECRET, logs are at warn.
  explicit node_process(const char* jwt_secret) : node_process(jwt_secret, fresh_data_dir()) {}

  /// Starts the node on an existing (or new) data dir, e.g. after kill9(). With a
  /// `log_path`, the node's stderr is appended there at log level info.
  /// `extra_args` are appended to the serve command line (e.g. --backup-dir B, or
  /// --listen 127.0.0.1:P instead of an ephemeral port);
  /// `config_path` replaces cluster-config/single-node.toml.
  node_process(const char* jwt_secret, std::string dir, const std::string& log_path = {},
               const std::vector<std::string>& extra_args = {}, const std::string& config_path = {})
      : data_dir(std::move(dir)) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      setenv("RIDESHARD_JWT_SECRET", jwt_secret, 1);
      setenv("RIDESHARD_LOG_LEVEL", log_path.empty() ? "warn" : "info", 1);
      // A real vault key, except where the test asks for --dev (its public key).
      if (std::find(extra_args.begin(), extra_args.end(), "--dev") == extra_args.end())
        setenv("RIDESHARD_VAULT_KEY", test_vault_key, 1);
      else
        unsetenv("RIDESHARD_VAULT_KEY");
      if (!log_path.empty()) {
        const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (log >= 0) dup2(log, STDERR_FILENO);
      }
      const std::string config = config_path.empty() ? std::string(RIDESHARD_SOURCE_DIR) +
                                                           "/cluster-config/single-node.toml"
                                                     : config_path;
      std::vector<const char*> argv{RIDESHARD_BINARY, "serve",      "--config",
                                    config.c_str(),   "--data-dir", data_dir.c_str()};
      // An ephemeral port unless the test gives one (a restart on the same port).
      if (std::find(extra_args.begin(), extra_args.end(), "--listen") == extra_args.end()) {
        argv.push_back("--listen");
        argv.push_back("127.0.0.1:0");
      }
      for (const auto& a : extra_args) argv.push_back(a.c_str());
      argv.push_back(nullptr);
      execv(RIDESHARD_BINARY, const_cast<char* const*>(argv.data()));
      _exit(127);
    }
    close(fds[1]);
    out = fdopen(fds[0], "r");
    char line[512];
    const char* marker = "listening on http://127.0.0.1:";
    while (port == 0 && std::fgets(line, sizeof line, out))
      if (const char* p = std::strstr(line, marker))
        port = static_cast<unsigned short>(std::atoi(p + std::strlen(marker)));
    REQUIRE_MESSAGE(port != 0, "the node did not report its port");
  }

  static std::string fresh_data_dir() {
    char dir[] = "/tmp/rideshard-system-test-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    test_dirs::instance().add(dir);
    return dir;
  }

  /// The stdout line after the listening line ("rideshard serve: data D (recovered
  /// N active trips of M stored), ..."); empty if stdout ends first.
  std::string read_recovery_line() {
    char line[1024];
    while (std::fgets(line, sizeof line, out))
      if (std::strstr(line, "recovered")) return line;
    return {};
  }

  /// SIGKILL (no drain, no flush), then the exit status (128 + 9).
  int kill9() {
    kill(pid, SIGKILL);
    return wait_exit();
  }

  /// SIGTERM, then the exit status (bounded: SIGKILL after 20 s).
  int terminate() {
    kill(pid, SIGTERM);
    return wait_exit();
  }

  int wait_exit() {
    for (int i = 0; i < 2000; ++i) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      usleep(10'000);  // polling a child's exit; nothing to wait on but waitpid
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pid = -1;
    return -1;
  }

  ~node_process() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (out) fclose(out);
  }
};

/// A loopback TCP port that was free a moment ago (bind to 0, read, close): for
/// a node that must come back on the same port after kill9().
inline unsigned short free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  close(fd);
  return ntohs(a.sin_port);
}

/// Runs the shell command `cmd` to its end with stdout and stderr in a file;
/// returns its exit status (-1 if it did not exit) and the output in `output`.
inline int run_to_exit(const std::string& cmd, std::string& output) {
  const std::string log = node_process::fresh_data_dir() + "/out.txt";
  const int rc = std::system((cmd + " >" + log + " 2>&1 </dev/null").c_str());
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  output = ss.str();
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace rideshard::system_test
