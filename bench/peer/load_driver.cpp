// load_driver: the pipelining window shared by both peers, and the phase loop.
#include "peer/load_driver.hpp"

#include <algorithm>
#include <cmath>

namespace rideshard::peer {

void pipelined_connection::begin(std::vector<wire_request> work, std::size_t depth,
                                 steady_clock::time_point stop_issuing,
                                 std::function<void()> done) {
  work_ = std::move(work);
  next_ = 0;
  depth_ = std::max<std::size_t>(1, depth);
  stop_issuing_ = stop_issuing;
  done_ = std::move(done);
  in_flight_.clear();
  requests_ = items_ = errors_ = 0;
  latencies_us_.clear();
  latencies_us_.reserve(work_.size());
  finished_ = false;
  if (!failure_.empty()) {
    finished_ = true;
    if (done_) done_();
    return;
  }
  pump();
}

void pipelined_connection::pump() {
  if (finished_) return;
  const auto now = steady_clock::now();
  std::size_t count = 0;
  if (now < stop_issuing_ && in_flight_.size() < depth_)
    count = std::min(depth_ - in_flight_.size(), work_.size() - next_);
  if (count > 0) {
    for (std::size_t i = next_; i < next_ + count; ++i) in_flight_.push_back({work_[i].id, i, now});
    const std::size_t first = next_;
    next_ += count;
    write_requests(first, next_);
  }
  if (in_flight_.empty() && (next_ == work_.size() || now >= stop_issuing_)) {
    finished_ = true;
    if (done_) done_();
  }
}

void pipelined_connection::on_reply(std::uint64_t id, bool ok) {
  auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                         [id](const pending& p) { return p.id == id; });
  if (it == in_flight_.end()) return;  // a late reply from an abandoned phase
  const auto us = std::chrono::duration<double, std::micro>(steady_clock::now() - it->sent).count();
  latencies_us_.push_back(us);
  ++requests_;
  items_ += work_[it->index].items;
  if (!ok) ++errors_;
  in_flight_.erase(it);
  pump();
}

std::uint64_t pipelined_connection::oldest_in_flight() const {
  return in_flight_.empty() ? 0 : in_flight_.front().id;
}

const wire_request* pipelined_connection::request_by_id(std::uint64_t id) const {
  for (const auto& p : in_flight_)
    if (p.id == id) return &work_[p.index];
  return nullptr;
}

void pipelined_connection::fail(std::string why) {
  if (failure_.empty()) failure_ = std::move(why);
  if (!finished_) {
    finished_ = true;
    if (done_) done_();
  }
}

void pipelined_connection::collect(phase_result& into) {
  into.requests += requests_;
  into.items += items_;
  into.errors += errors_;
  into.unanswered += in_flight_.size();
  into.unsent += work_.size() - next_;
  into.latencies_us.insert(into.latencies_us.end(), latencies_us_.begin(), latencies_us_.end());
  if (!failure_.empty() && into.failure.empty()) {
    into.failure = failure_;
    into.aborted = true;
  }
}

phase_result run_phase(boost::asio::io_context& ioc,
                       const std::vector<std::shared_ptr<pipelined_connection>>& conns,
                       std::vector<std::vector<wire_request>> work, std::size_t depth,
                       std::chrono::milliseconds issue_for, std::chrono::milliseconds grace) {
  phase_result r;
  std::size_t remaining = conns.size();
  const auto start = steady_clock::now();
  auto last_done = start;
  const auto stop_issuing = start + issue_for;
  const auto hard_stop = stop_issuing + grace;
  for (std::size_t i = 0; i < conns.size(); ++i) {
    conns[i]->begin(i < work.size() ? std::move(work[i]) : std::vector<wire_request>{}, depth,
                    stop_issuing, [&remaining, &last_done] {
                      --remaining;
                      last_done = steady_clock::now();
                    });
  }
  // Bounded: ends when every connection is done or at hard_stop.
  while (remaining > 0 && steady_clock::now() < hard_stop) {
    if (ioc.stopped()) ioc.restart();
    ioc.run_one_for(std::chrono::milliseconds(20));
  }
  r.seconds = std::chrono::duration<double>(last_done - start).count();
  for (const auto& c : conns) c->collect(r);
  if (remaining > 0) {
    r.aborted = true;
    if (r.failure.empty()) r.failure = "replies still missing at the phase's hard time limit";
  }
  return r;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(lo), v.end());
  const double a = v[lo];
  if (lo + 1 >= v.size()) return a;
  const double b = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(lo) + 1, v.end());
  return a + (b - a) * (rank - static_cast<double>(lo));
}

}  // namespace rideshard::peer
