// The accept loop, the session registry and the gateway's start/drain/stop.
#include "gateway/listener.hpp"

#include <cstdio>
#include <exception>
#include <future>
#include <optional>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include "gateway/detail/gateway_core.hpp"
#include "gateway/detail/http_session.hpp"

namespace rideshard::gateway {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

// ---- session_registry -------------------------------------------------------

namespace detail {

void session_registry::add(std::uint64_t id, std::weak_ptr<session_base> s) {
  std::lock_guard<std::mutex> lock(mutex_);
  sessions_.emplace(id, std::move(s));
}

void session_registry::remove(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = subject_of_.find(id); it != subject_of_.end()) {
    auto s = by_subject_.find(it->second);
    if (s != by_subject_.end() && s->second.erase(id) > 0 && s->second.empty())
      by_subject_.erase(s);
    subject_of_.erase(it);
  }
  if (sessions_.erase(id) > 0 && sessions_.empty()) empty_.notify_all();
}

void session_registry::bind_subject(std::uint64_t id, const std::string& subject) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (sessions_.count(id) == 0 || subject_of_.count(id) != 0) return;  // gone, or bound
  subject_of_.emplace(id, subject);
  by_subject_[subject].insert(id);
}

std::size_t session_registry::revoke_subject(const std::string& subject,
                                             const std::string& reason) {
  std::vector<std::shared_ptr<session_base>> live;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto s = by_subject_.find(subject);
    if (s == by_subject_.end()) return 0;
    for (auto id : s->second)
      if (auto it = sessions_.find(id); it != sessions_.end())
        if (auto p = it->second.lock()) live.push_back(std::move(p));
  }
  for (const auto& p : live) p->revoke(reason);
  return live.size();
}

std::size_t session_registry::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return sessions_.size();
}

std::vector<std::shared_ptr<session_base>> session_registry::snapshot() const {
  std::vector<std::shared_ptr<session_base>> out;
  std::lock_guard<std::mutex> lock(mutex_);
  out.reserve(sessions_.size());
  for (const auto& [id, weak] : sessions_) {
    if (auto s = weak.lock()) out.push_back(std::move(s));
  }
  return out;
}

void session_registry::drain_all() {
  for (const auto& s : snapshot()) s->drain();
}

void session_registry::abort_all() {
  for (const auto& s : snapshot()) s->abort();
}

bool session_registry::wait_empty(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  return empty_.wait_until(lock, deadline, [&] { return sessions_.empty(); });
}

// ---- listener ---------------------------------------------------------------

/// Accepts connections on a strand of the first io_context; each socket goes
/// to the next io_context (round robin), whose one thread runs all its handlers.
class listener : public std::enable_shared_from_this<listener> {
 public:
  explicit listener(std::shared_ptr<gateway_core> core)
      : core_(std::move(core)),
        strand_(net::make_strand(*core_->iocs.front())),
        acceptor_(strand_),
        backoff_(strand_) {}

  result<std::uint16_t> open(const tcp::endpoint& at) {
    error_code ec;
    acceptor_.open(at.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(at, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return error{errc::unavailable, "gateway: cannot listen: " + ec.message()};
    return acceptor_.local_endpoint().port();
  }

  void run() {
    net::post(strand_, [self = shared_from_this()] { self->do_accept(); });
  }

  /// Closes the acceptor on its strand and waits until it is closed.
  void stop() {
    std::promise<void> done;
    auto closed = done.get_future();
    net::post(strand_, [self = shared_from_this(), &done] {
      self->stopped_ = true;
      error_code ec;
      self->acceptor_.close(ec);
      self->backoff_.cancel();
      done.set_value();
    });
    closed.wait();
  }

 private:
  void do_accept() {
    if (stopped_) return;
    // No strand for the socket: one thread runs its io_context.
    acceptor_.async_accept(
        core_->next_context().get_executor(),
        boost::beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (stopped_ || ec == net::error::operation_aborted) return;
    if (ec) {
      // E.g. out of file descriptors: back off instead of spinning.
      std::fprintf(stderr, "gateway: accept failed: %s\n", ec.message().c_str());
      backoff_.expires_after(std::chrono::milliseconds(50));
      backoff_.async_wait([self = shared_from_this()](error_code e) {
        if (!e) self->do_accept();
      });
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<http_session>(core_, std::move(socket))->run();
    do_accept();
  }

  std::shared_ptr<gateway_core> core_;
  net::strand<net::io_context::executor_type> strand_;
  tcp::acceptor acceptor_;
  net::steady_timer backoff_;
  bool stopped_ = false;
};

}  // namespace detail

// ---- gateway ----------------------------------------------------------------

namespace {
using work_guard = net::executor_work_guard<net::io_context::executor_type>;

// A server TLS context from PEM files: TLS 1.2 or newer, no compression.
result<std::unique_ptr<net::ssl::context>> make_tls_context(const gateway_config& c) {
  if (c.tls_cert_file.empty() != c.tls_key_file.empty())
    return error{errc::bad_config, "gateway: tls_cert and tls_key must be set together"};
  if (c.tls_cert_file.empty()) return std::unique_ptr<net::ssl::context>();
  auto ctx = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
  error_code ec;
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                       net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                       net::ssl::context::no_tlsv1_1 | net::ssl::context::no_compression,
                   ec);
  if (!ec) ctx->use_certificate_chain_file(c.tls_cert_file, ec);
  if (ec)
    return error{errc::bad_config,
                 "gateway: TLS certificate " + c.tls_cert_file + ": " + ec.message()};
  ctx->use_private_key_file(c.tls_key_file, net::ssl::context::pem, ec);
  if (ec)
    return error{errc::bad_config, "gateway: TLS key " + c.tls_key_file + ": " + ec.message()};
  return ctx;
}
}  // namespace

gateway::gateway() = default;
gateway::~gateway() { stop(); }

result<std::uint16_t> gateway::start(const gateway_config& config, ws_handler& ws,
                                     http_handler& http, metrics& stats) {
  if (core_) return error{errc::invalid_argument, "gateway: already started"};
  if (config.io_threads < 1 || config.max_frame_bytes == 0 || config.max_queue_frames == 0) {
    return error{errc::invalid_argument,
                 "gateway: io_threads, max_frame_bytes and "
                 "max_queue_frames must be positive"};
  }
  error_code ec;
  const auto address = net::ip::make_address(config.address, ec);
  if (ec) return error{errc::invalid_argument, "gateway: bad address '" + config.address + "'"};

  auto tls = make_tls_context(config);
  if (!tls) return tls.err();
  auto core = std::make_shared<detail::gateway_core>(config, ws, http, stats);
  core->tls = std::move(*tls);
  auto lst = std::make_shared<detail::listener>(core);
  auto bound = lst->open(tcp::endpoint(address, config.port));
  if (!bound) return bound;
  core_ = std::move(core);
  listener_ = std::move(lst);
  port_ = *bound;
  listener_->run();
  for (auto& ioc : core_->iocs) {
    // Keeps run() alive between connections; released by stop().
    auto guard = std::make_shared<work_guard>(ioc->get_executor());
    threads_.emplace_back([core = core_, ctx = ioc.get(), guard] {
      for (;;) {
        try {
          ctx->run();
          return;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "gateway: exception on I/O thread: %s\n", e.what());
        }
      }
    });
  }
  return port_;
}

void gateway::stop_accepting() {
  if (listener_) listener_->stop();
}

bool gateway::drain(std::chrono::steady_clock::time_point deadline) {
  if (!core_) return true;
  stop_accepting();
  core_->draining.store(true);
  core_->sessions.drain_all();
  return core_->sessions.wait_empty(deadline);
}

void gateway::stop() {
  if (!core_) return;
  stop_accepting();
  core_->draining.store(true);
  core_->sessions.abort_all();
  // Give sessions a moment to report on_close before the threads go.
  (void)core_->sessions.wait_empty(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  for (auto& ioc : core_->iocs) ioc->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  // Run what completed meanwhile, so no handler keeps a session (and the core) alive.
  for (auto& ioc : core_->iocs) {
    ioc->restart();
    ioc->poll();
  }
  listener_.reset();
  core_.reset();
}

bool gateway::tls() const noexcept { return core_ && core_->tls; }

std::size_t gateway::close_subject(const std::string& subject, const std::string& reason) {
  return core_ ? core_->sessions.revoke_subject(subject, reason) : 0;
}

std::size_t gateway::session_count() const { return core_ ? core_->sessions.size() : 0; }

}  // namespace rideshard::gateway
