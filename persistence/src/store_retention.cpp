// store retention: the embedded default has no relay draining the outbox, so
// analytics rows (driver locations, quotes, surge) are dropped by age and count.
#include <algorithm>

#include <rocksdb/write_batch.h>

#include "keys.hpp"
#include "rideshard/persistence/store.hpp"
#include "store_impl.hpp"

namespace rideshard::persistence {

using steady = std::chrono::steady_clock;

void store::impl::track_analytics(const std::vector<std::uint64_t>& sequences) {
  if (sequences.empty()) return;
  const auto now = steady::now();
  std::lock_guard lock(analytics_mu);
  for (auto seq : sequences) analytics.push_back({seq, now});
}

bool store::impl::before(const analytics_row& r, std::uint64_t seq) { return r.sequence < seq; }

void store::impl::untrack_analytics(std::uint64_t first, std::uint64_t last) {
  std::lock_guard lock(analytics_mu);
  auto from = std::lower_bound(analytics.begin(), analytics.end(), first, before);
  auto to = std::lower_bound(from, analytics.end(), last + 1, before);
  analytics.erase(from, to);
}

void store::impl::untrack_analytics(const std::vector<std::uint64_t>& sequences) {
  std::lock_guard lock(analytics_mu);
  for (auto seq : sequences) {
    auto it = std::lower_bound(analytics.begin(), analytics.end(), seq, before);
    if (it != analytics.end() && it->sequence == seq) analytics.erase(it);
  }
}

std::uint64_t store::analytics_depth() const {
  std::lock_guard lock(impl_->analytics_mu);
  return impl_->analytics.size();
}

std::chrono::milliseconds store::oldest_analytics_age(steady::time_point now) const {
  std::lock_guard lock(impl_->analytics_mu);
  if (impl_->analytics.empty() || now <= impl_->analytics.front().committed) return {};
  return std::chrono::duration_cast<std::chrono::milliseconds>(now -
                                                               impl_->analytics.front().committed);
}

result<retention_pass> store::drop_analytics(const analytics_retention& policy,
                                             steady::time_point now) {
  impl& d = *impl_;
  retention_pass pass;
  std::vector<impl::analytics_row> victims;
  {
    // Oldest first: rows are in sequence (= commit) order.
    std::lock_guard lock(d.analytics_mu);
    const auto cutoff = now - policy.max_age;
    while (!d.analytics.empty() && d.analytics.front().committed < cutoff) {
      victims.push_back(d.analytics.front());
      d.analytics.pop_front();
      ++pass.dropped_by_age;
    }
    while (d.analytics.size() > policy.max_rows) {
      victims.push_back(d.analytics.front());
      d.analytics.pop_front();
      ++pass.dropped_by_size;
    }
  }
  if (victims.empty()) return pass;
  rocksdb::WriteBatch wb;
  rocksdb::Status s;
  for (const auto& v : victims)
    if (s.ok()) s = wb.Delete(d.outbox, keys::outbox(v.sequence));
  if (s.ok()) s = d.db->Write(rocksdb::WriteOptions{}, &wb);
  // Rows dropped here must not be served from memory (no relay should run, but
  // if one does it reads RocksDB from here on).
  if (s.ok()) d.reset_tail(d.tail.max_rows);
  if (!s.ok()) {
    // Nothing was deleted: put the rows back at the front, in order.
    std::lock_guard lock(d.analytics_mu);
    d.analytics.insert(d.analytics.begin(), victims.begin(), victims.end());
    return storage_error("drop analytics rows", s);
  }
  d.outbox_depth -= victims.size();
  return pass;
}

}  // namespace rideshard::persistence
