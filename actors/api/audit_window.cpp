// audit_window: the newest entries of rideshard.admin-audit.v1 by (id, node).
#include "api/audit_window.hpp"

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>

namespace rideshard::api {

result<audit_entry> audit_entry_from_event(std::string_view payload) {
  auto j = nlohmann::json::parse(payload.begin(), payload.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("sequence") ||
      !j["sequence"].is_number_unsigned())
    return error{errc::bad_json, "not an audit entry"};
  audit_entry e;
  e.id = j["sequence"].get<std::uint64_t>();
  e.at_ms = j.value("occurred_at_ms", std::int64_t{0});
  e.actor = j.value("actor", "");
  e.action = j.value("action", "");
  e.target = j.value("target", "");
  e.from = j.value("from", "");
  e.status = j.value("status", 0);
  e.node = j.value("node", std::uint32_t{0});
  return e;
}

std::vector<audit_entry> merge_audit_pages(std::vector<audit_entry> a, std::vector<audit_entry> b,
                                           std::size_t n) {
  a.insert(a.end(), std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()));
  auto newer = [](const audit_entry& x, const audit_entry& y) {
    return std::make_pair(x.id, x.node) > std::make_pair(y.id, y.node);
  };
  std::sort(a.begin(), a.end(), newer);
  a.erase(std::unique(a.begin(), a.end(),
                      [](const audit_entry& x, const audit_entry& y) {
                        return x.id == y.id && x.node == y.node;
                      }),
          a.end());
  std::size_t keep = std::min(n, a.size());
  while (keep > 0 && keep < a.size() && a[keep].id == a[keep - 1].id) ++keep;
  a.resize(keep);
  return a;
}

void audit_window::add(std::string_view payload) {
  auto e = audit_entry_from_event(payload);
  std::lock_guard lock(mu_);
  if (!e) {
    ++unreadable_;
    return;
  }
  const key k{e->id, e->node};
  if (entries_.size() >= max_ && (max_ == 0 || k < entries_.begin()->first)) return;  // too old
  entries_.insert_or_assign(k, std::move(*e));
  while (entries_.size() > max_) entries_.erase(entries_.begin());
}

std::vector<audit_entry> audit_window::page(std::size_t n, std::uint64_t before) const {
  std::vector<audit_entry> out;
  if (n == 0) return out;
  std::lock_guard lock(mu_);
  auto it = before == 0 ? entries_.end() : entries_.lower_bound(key{before, 0});
  while (it != entries_.begin()) {
    --it;
    if (out.size() >= n && it->first.first != out.back().id) break;
    out.push_back(it->second);
  }
  return out;
}

std::uint64_t audit_window::oldest() const {
  std::lock_guard lock(mu_);
  return entries_.empty() ? 0 : entries_.begin()->first.first;
}

std::size_t audit_window::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::uint64_t audit_window::unreadable() const {
  std::lock_guard lock(mu_);
  return unreadable_;
}

}  // namespace rideshard::api
