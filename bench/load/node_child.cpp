// node_child: fork/exec of the node, its listening line, /proc readings, stop.
#include "node_child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace rideshard::load {

namespace {

/// Reads the child's stdout until the listening line or the deadline.
std::uint16_t read_port(int fd, std::chrono::steady_clock::time_point deadline) {
  const char* marker = "listening on http://127.0.0.1:";
  std::string seen;
  char buf[512];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return 0;  // the child exited
    seen.append(buf, static_cast<std::size_t>(n));
    const auto at = seen.find(marker);
    if (at != std::string::npos && seen.find('\n', at) != std::string::npos)
      return static_cast<std::uint16_t>(std::atoi(seen.c_str() + at + std::strlen(marker)));
  }
  return 0;
}

std::uint64_t proc_field(pid_t pid, const char* file, const char* key, int kib) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0)
      return std::strtoull(line.c_str() + std::strlen(key), nullptr, 10) *
             static_cast<std::uint64_t>(kib);
  return 0;
}

}  // namespace

result<std::unique_ptr<node_child>> node_child::start(const std::string& binary,
                                                      const std::string& config,
                                                      const std::string& jwt_secret) {
  char dir[] = "/tmp/rideshard-dispatch-load-XXXXXX";
  if (mkdtemp(dir) == nullptr) return {errc::unavailable, "mkdtemp failed"};
  int fds[2];
  if (pipe(fds) != 0) return {errc::unavailable, "pipe failed"};
  const std::string data = std::string(dir) + "/data", log = std::string(dir) + "/node.log";
  const pid_t pid = fork();
  if (pid < 0) return {errc::unavailable, "fork failed"};
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    const int lf = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (lf >= 0) dup2(lf, STDERR_FILENO);
    close(fds[0]);
    setenv("RIDESHARD_JWT_SECRET", jwt_secret.c_str(), 1);
    // The node refuses to start without a card-vault key; the bench stores no cards.
    setenv("RIDESHARD_VAULT_KEY",
           "0b0b0b0b0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c", 1);
    setenv("RIDESHARD_LOG_LEVEL", "warn", 1);
    execl(binary.c_str(), binary.c_str(), "serve", "--config", config.c_str(), "--listen",
          "127.0.0.1:0", "--data-dir", data.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::unique_ptr<node_child> n(new node_child);
  n->pid_ = pid;
  n->out_ = fds[0];
  n->dir_ = dir;
  n->port_ = read_port(fds[0], std::chrono::steady_clock::now() + std::chrono::seconds(30));
  // No need to drain stdout later: the node prints a few lines, far below a pipe's 64 KiB.
  if (n->port_ == 0)
    return {errc::unavailable, "the node did not report its port (see " + log + ")"};
  return n;
}

node_child::~node_child() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_ >= 0) close(out_);
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::uint64_t node_child::rss_bytes() const { return proc_field(pid_, "status", "VmRSS:", 1024); }

std::uint64_t node_child::fd_limit() const {
  return proc_field(pid_, "limits", "Max open files", 1);
}

int node_child::stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    usleep(20'000);  // polling a child's exit: waitpid offers nothing to block on with a bound
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

result<std::string> http_get(std::uint16_t port, const std::string& path) {
  namespace net = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.expires_after(std::chrono::seconds(5));
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return {errc::unavailable, "connect: " + ec.message()};
  // Synchronous Beast calls ignore expires_after: bound them with socket timeouts.
  const timeval tv{5, 0};
  setsockopt(stream.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(stream.socket().native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  http::request<http::empty_body> req(http::verb::get, path, 11);
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::connection, "close");
  http::write(stream, req, ec);
  if (ec) return {errc::unavailable, "write: " + ec.message()};
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(stream, buf, parser, ec);
  if (ec) return {errc::unavailable, "read: " + ec.message()};
  if (parser.get().result() != http::status::ok)
    return {errc::internal, path + " answered " + std::to_string(parser.get().result_int())};
  return std::move(parser.get().body());
}

}  // namespace rideshard::load
