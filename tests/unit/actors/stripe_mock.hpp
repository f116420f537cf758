// stripe_mock: runs the real stripe-mock (github.com/stripe/stripe-mock, installed
// by `./run deps`) on a free 127.0.0.1 port for the duration of a test. A missing
// binary fails the test: the adapter's wire shape is never assumed.
#pragma once

#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace rideshard::test {

/// $RIDESHARD_STRIPE_MOCK, else ~/.cache/rideshard/stripe-mock-0.203.0/stripe-mock
/// (where ./run deps installs it), else "" (not found).
inline std::string stripe_mock_binary() {
  if (const char* env = std::getenv("RIDESHARD_STRIPE_MOCK"); env && *env) return env;
  const char* home = std::getenv("HOME");
  const char* cache = std::getenv("XDG_CACHE_HOME");
  const std::string dir =
      cache && *cache ? std::string(cache) : std::string(home ? home : "/tmp") + "/.cache";
  const std::string path = dir + "/rideshard/stripe-mock-0.203.0/stripe-mock";
  return ::access(path.c_str(), X_OK) == 0 ? path : std::string();
}

/// A running stripe-mock; stopped (SIGTERM, reaped) by the destructor.
class stripe_mock {
 public:
  stripe_mock() {
    const std::string bin = stripe_mock_binary();
    REQUIRE_MESSAGE(!bin.empty(),
                    "stripe-mock is not installed: run ./run deps (go install "
                    "github.com/stripe/stripe-mock@v0.203.0) or set RIDESHARD_STRIPE_MOCK");
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      ::close(fds[0]);
      ::close(fds[1]);
      // Port 0 for both listeners, loopback only.
      ::execl(bin.c_str(), bin.c_str(), "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
    // "Listening for HTTP at address: 127.0.0.1:PORT" within 30 s.
    const std::string marker = "Listening for HTTP at address: 127.0.0.1:";
    std::string seen;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (port_ == 0 && std::chrono::steady_clock::now() < deadline && seen.size() < 65536) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 1000) <= 0) continue;
      char buf[512];
      const auto n = ::read(out_, buf, sizeof buf);
      if (n <= 0) break;
      seen.append(buf, static_cast<std::size_t>(n));
      const auto at = seen.find(marker);
      if (at == std::string::npos) continue;
      const auto end = seen.find('\n', at);
      if (end == std::string::npos) continue;
      port_ = static_cast<std::uint16_t>(std::stoi(seen.substr(at + marker.size(), end)));
    }
    REQUIRE_MESSAGE(port_ != 0, "stripe-mock did not start: " << seen);
  }
  ~stripe_mock() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  stripe_mock(const stripe_mock&) = delete;
  stripe_mock& operator=(const stripe_mock&) = delete;

  std::uint16_t port() const noexcept { return port_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace rideshard::test
