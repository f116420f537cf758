// The built `rideshard serve` as a child process for system tests: listens on
// 127.0.0.1:0 with a fresh data dir, reports its port on stdout, and is killed
// (SIGKILL) if a test ends without stopping it.
#pragma once

#include <doctest/doctest.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace rideshard::system_test {

struct node_process {
  pid_t pid = -1;
  FILE* out = nullptr;
  unsigned short port = 0;

  /// Starts the node; `jwt_secret` becomes $RIDESHARD_JWT_SECRET, logs are at warn.
  explicit node_process(const char* jwt_secret) {
    char dir[] = "/tmp/rideshard-system-test-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      setenv("RIDESHARD_JWT_SECRET", jwt_secret, 1);
      setenv("RIDESHARD_LOG_LEVEL", "warn", 1);
      const std::string config =
          std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/single-node.toml";
      execl(RIDESHARD_BINARY, RIDESHARD_BINARY, "serve", "--config", config.c_str(), "--listen",
            "127.0.0.1:0", "--data-dir", dir, static_cast<char*>(nullptr));
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

}  // namespace rideshard::system_test
