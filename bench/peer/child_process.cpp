// child_process: fork/exec with a stdout pipe, bounded waits, always reaped.
#include "peer/child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace rideshard::peer {

namespace {

using steady = std::chrono::steady_clock;

int remaining_ms(steady::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

child_process::child_process(child_process&& o) noexcept
    : pid_(o.pid_), out_fd_(o.out_fd_), pending_(std::move(o.pending_)), status_(o.status_) {
  o.pid_ = -1;
  o.out_fd_ = -1;
}

child_process& child_process::operator=(child_process&& o) noexcept {
  if (this != &o) {
    stop();
    pid_ = o.pid_;
    out_fd_ = o.out_fd_;
    pending_ = std::move(o.pending_);
    status_ = o.status_;
    o.pid_ = -1;
    o.out_fd_ = -1;
  }
  return *this;
}

child_process::~child_process() { stop(); }

std::optional<std::string> child_process::spawn(const std::vector<std::string>& argv,
                                                const std::string& stderr_path,
                                                child_process& out) {
  if (argv.empty()) return std::string("empty command");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return std::string("fork: ") + std::strerror(errno);
  }
  if (pid == 0) {
    // Child: die with the benchmark, stdout to the pipe, stderr to the log.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(fds[1], STDOUT_FILENO);
    if (!stderr_path.empty()) {
      const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (err >= 0) dup2(err, STDERR_FILENO);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  out.stop();
  out.pid_ = pid;
  out.out_fd_ = fds[0];
  out.pending_.clear();
  return std::nullopt;
}

std::optional<std::string> child_process::wait_for_line(const std::string& needle,
                                                        std::chrono::milliseconds timeout) {
  const auto deadline = steady::now() + timeout;
  for (int round = 0; round < 100000 && out_fd_ >= 0; ++round) {
    for (auto nl = pending_.find('\n'); nl != std::string::npos; nl = pending_.find('\n')) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      if (line.find(needle) != std::string::npos) return line;
    }
    pollfd p{out_fd_, POLLIN, 0};
    const int ms = remaining_ms(deadline);
    if (ms == 0 || poll(&p, 1, ms) <= 0) return std::nullopt;
    char buf[4096];
    const ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;  // EOF: the child closed stdout (exited)
    pending_.append(buf, static_cast<std::size_t>(n));
  }
  return std::nullopt;
}

bool child_process::running() {
  if (pid_ <= 0) return false;
  int st = 0;
  const pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == 0) return true;
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    pid_ = -1;
  }
  return false;
}

int child_process::stop(std::chrono::milliseconds grace) {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    const auto deadline = steady::now() + grace;
    // Poll every 10 ms; bounded by `grace`, then SIGKILL.
    while (running() && steady::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int st = 0;
      if (waitpid(pid_, &st, 0) == pid_)
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      pid_ = -1;
    }
  }
  if (out_fd_ >= 0) {
    close(out_fd_);
    out_fd_ = -1;
  }
  return status_;
}

std::optional<std::string> child_process::read_to_eof(std::chrono::milliseconds timeout) {
  const auto deadline = steady::now() + timeout;
  for (int round = 0; round < 100000 && out_fd_ >= 0; ++round) {
    pollfd p{out_fd_, POLLIN, 0};
    const int ms = remaining_ms(deadline);
    if (ms == 0 || poll(&p, 1, ms) <= 0) return std::nullopt;
    char buf[4096];
    const ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n < 0) return std::nullopt;
    if (n == 0) {
      std::string all = std::move(pending_);
      pending_.clear();
      return all;
    }
    pending_.append(buf, static_cast<std::size_t>(n));
  }
  return std::nullopt;
}

std::optional<std::string> run_capture(const std::vector<std::string>& argv,
                                       std::chrono::milliseconds timeout) {
  child_process child;
  if (child_process::spawn(argv, "", child)) return std::nullopt;
  auto text = child.read_to_eof(timeout);
  // stdout closed: the child is exiting; give it a moment to be reaped.
  if (child.stop(std::chrono::milliseconds(2000)) != 0) return std::nullopt;
  return text;
}

std::uint16_t pick_free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  std::uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

}  // namespace rideshard::peer
