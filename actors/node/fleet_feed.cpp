// fleet_feed: checks admin fleet samples and nearby queries, groups them per
// shard, and spawns a gatherer actor per frame that asks each shard's matcher
// for its part and answers the admin's connection.
//
// Per-frame cost (issue 13 item 4): the gatherer writes its answer to the
// admin's connection itself (it is spawned on the connection's node for that
// connection) instead of one more hop through the session registry, and asks
// the matchers without a timeout: a matcher always answers a part (its own
// neighbour probes are bounded by probe timeouts) and CAF answers with an
// error for a matcher that is gone, while every timeout would be one more
// entry and one more wake-up of CAF's clock thread per part.
#include "node/fleet_feed.hpp"

#include <map>
#include <utility>

#include "node/shard_router.hpp"

namespace rideshard::node {
namespace {

/// Releases an admin connection's in-flight slot when the gatherer ends.
struct slot_guard {
  std::shared_ptr<std::atomic<int>> slot;
  slot_guard() = default;
  explicit slot_guard(std::shared_ptr<std::atomic<int>> s) : slot(std::move(s)) {}
  slot_guard(slot_guard&&) = default;
  slot_guard& operator=(slot_guard&&) = default;
  ~slot_guard() {
    if (slot) slot->fetch_sub(1);
  }
};

// ---- fleet_positions --------------------------------------------------------

struct fleet_gather_state {
  context_ptr ctx;
  gateway::connection_ptr conn;
  std::uint64_t seq = 0;
  slot_guard slot;
  std::size_t left = 0;
  std::uint32_t accepted = 0;
  fleet_rejects rejected;
  static inline const char* name = "fleet_gatherer";
};
using fleet_gather_self = caf::stateful_actor<fleet_gather_state>;

void fleet_part_done(fleet_gather_self* self) {
  auto& st = self->state;
  if (--st.left != 0) return;
  if (st.accepted == 0 && st.rejected.count > 0)
    st.ctx->write_error(st.conn, st.seq, st.rejected.first_code,
                        "all " + std::to_string(st.rejected.count) +
                            " samples rejected; first: " + st.rejected.first_why);
  else
    st.ctx->write(st.conn, schemas::ack{st.accepted}, st.seq);
  self->quit();
}

caf::behavior fleet_gatherer(fleet_gather_self* self, context_ptr ctx, gateway::connection_ptr conn,
                             std::uint64_t seq, slot_guard slot, fleet_rejects rejected,
                             std::vector<std::pair<matcher_handle, fleet_upsert>> parts) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.conn = std::move(conn);
  st.seq = seq;
  st.slot = std::move(slot);
  st.rejected = std::move(rejected);
  st.left = parts.size();
  for (auto& [matcher, part] : parts)
    self->request(matcher, caf::infinite, std::move(part))
        .then(
            [self](fleet_applied& a) {
              auto& s = self->state;
              s.accepted += a.accepted;
              s.rejected.merge(a.rejected);
              fleet_part_done(self);
            },
            [self](caf::error&) { fleet_part_done(self); });  // that part applied nothing
  return {[=](stop_atom) { self->quit(); }};
}

// ---- nearby_batch -----------------------------------------------------------

struct nearby_gather_state {
  context_ptr ctx;
  gateway::connection_ptr conn;
  std::uint64_t seq = 0;
  slot_guard slot;
  std::size_t left = 0;
  schemas::nearby_results out;
  static inline const char* name = "nearby_gatherer";
};
using nearby_gather_self = caf::stateful_actor<nearby_gather_state>;

void nearby_part_done(nearby_gather_self* self) {
  auto& st = self->state;
  if (--st.left != 0) return;
  st.ctx->write(st.conn, std::move(st.out), st.seq);
  self->quit();
}

caf::behavior nearby_gatherer(nearby_gather_self* self, context_ptr ctx,
                              gateway::connection_ptr conn, std::uint64_t seq, slot_guard slot,
                              schemas::nearby_results out,
                              std::vector<std::pair<matcher_handle, nearby_part>> parts,
                              std::vector<std::vector<std::uint32_t>> slots) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.conn = std::move(conn);
  st.seq = seq;
  st.slot = std::move(slot);
  st.out = std::move(out);
  st.left = parts.size();
  for (std::size_t i = 0; i < parts.size(); ++i)
    self->request(parts[i].first, caf::infinite, std::move(parts[i].second))
        .then(
            [self, at = slots[i]](nearby_part_answer& a) {
              auto& res = self->state.out.results;
              for (std::size_t j = 0; j < at.size() && j < a.results.size(); ++j)
                res[at[j]] = std::move(a.results[j]);
              nearby_part_done(self);
            },
            [self, at = slots[i]](caf::error&) {
              for (auto slot : at) self->state.out.results[slot].code = errc::unavailable;
              nearby_part_done(self);
            });
  return {[=](stop_atom) { self->quit(); }};
}

}  // namespace

// ---- fleet_feed -------------------------------------------------------------

fleet_feed::fleet_feed(caf::actor_system& sys, context_ptr ctx, shard_router& router)
    : sys_(sys), ctx_(std::move(ctx)), router_(router) {}

void fleet_feed::on_message(const gateway::connection_ptr& c, schemas::client_message msg) {
  if (auto* f = std::get_if<schemas::fleet_positions>(&msg.body)) return ingest(c, msg.seq, *f);
  if (auto* n = std::get_if<schemas::nearby_batch>(&msg.body)) return nearby(c, msg.seq, *n);
  ctx_->write_error(c, msg.seq, errc::forbidden,
                    std::string(schemas::kind_name(msg.body)) + " is not allowed for an admin");
}

void fleet_feed::on_close(std::uint64_t conn_id) {
  std::lock_guard<std::mutex> lock{mu_};
  in_flight_.erase(conn_id);
}

std::shared_ptr<std::atomic<int>> fleet_feed::take_slot(const gateway::connection_ptr& c,
                                                        std::uint64_t seq) {
  std::shared_ptr<std::atomic<int>> slot;
  {
    std::lock_guard<std::mutex> lock{mu_};
    auto& s = in_flight_[c->id()];
    if (!s) s = std::make_shared<std::atomic<int>>(0);
    slot = s;
  }
  if (slot->fetch_add(1) >= max_admin_frames_in_flight) {
    slot->fetch_sub(1);
    ctx_->write_error(c, seq, errc::unavailable,
                      "more than " + std::to_string(max_admin_frames_in_flight) +
                          " admin frames unanswered; wait for answers");
    return nullptr;
  }
  return slot;
}

std::uint32_t fleet_feed::shard_number(const shard_key& key) {
  auto [it, fresh] = shard_numbers_.try_emplace(key, static_cast<std::uint32_t>(shards_.size()));
  if (fresh) shards_.push_back(key);
  return it->second;
}

void fleet_feed::ingest(const gateway::connection_ptr& c, std::uint64_t seq,
                        schemas::fleet_positions& m) {
  auto taken = take_slot(c, seq);
  if (!taken) return;
  slot_guard slot{std::move(taken)};
  fleet_rejects rejected;
  auto reject = [&](errc code, std::string why) {
    ctx_->stats.error(code);
    rejected.add(code, std::move(why));
  };
  std::map<std::uint32_t, fleet_upsert> grouped;  // by shard number
  std::vector<std::pair<shard_key, fleet_upsert>> out;
  {
    std::lock_guard<std::mutex> lock{fed_mu_};
    std::optional<shard_key> last_key;
    std::uint32_t last = 0;
    fleet_upsert* part = nullptr;
    for (const auto& s : m.samples) {
      if (!s.driver.valid()) {
        reject(errc::missing_field, "fleet_position.driver_id must be non-zero");
        continue;
      }
      if (auto ok = validate(s.pos); !ok) {
        reject(ok.code(), to_string(s.driver) + ": " + ok.err().message);
        continue;
      }
      if (s.at_ms < 0) {
        reject(errc::invalid_argument, to_string(s.driver) + ": at_ms must be >= 0");
        continue;
      }
      auto key = router_.shard_of(s.pos);
      if (!key) {
        reject(errc::out_of_region, to_string(s.driver) + ": position outside every region");
        continue;
      }
      // Feeds are spatially clustered: most samples share the previous one's shard.
      if (!last_key || key->region != last_key->region || key->cell != last_key->cell) {
        last = shard_number(*key);
        last_key = key;
        part = &grouped[last];
      }
      auto [at, fresh] = fed_shard_.try_emplace(s.driver.value, last);
      if (!fresh && at->second != last) {
        grouped[at->second].forget.push_back(s.driver);
        at->second = last;
      }
      part->samples.push_back(rideshard::driver_position{s.driver, s.pos});
    }
    out.reserve(grouped.size());
    for (auto& [number, p] : grouped) out.emplace_back(shards_[number], std::move(p));
  }
  std::vector<std::pair<matcher_handle, fleet_upsert>> parts;
  parts.reserve(out.size());
  for (auto& [key, part] : out)
    if (auto matcher = router_.matcher(key)) parts.emplace_back(matcher, std::move(part));
  if (parts.empty()) {  // nothing to apply (every sample refused, or shutting down)
    if (rejected.count > 0)
      return ctx_->write_error(c, seq, rejected.first_code,
                               "all " + std::to_string(rejected.count) +
                                   " samples rejected; first: " + rejected.first_why);
    return ctx_->write(c, schemas::ack{0}, seq);
  }
  sys_.spawn(fleet_gatherer, ctx_, c, seq, std::move(slot), std::move(rejected), std::move(parts));
}

void fleet_feed::nearby(const gateway::connection_ptr& c, std::uint64_t seq,
                        schemas::nearby_batch& m) {
  auto taken = take_slot(c, seq);
  if (!taken) return;
  slot_guard slot{std::move(taken)};
  schemas::nearby_results out;
  out.results.resize(m.queries.size());
  std::map<shard_key, std::pair<nearby_part, std::vector<std::uint32_t>>> grouped;
  for (std::uint32_t i = 0; i < m.queries.size(); ++i) {
    const auto& q = m.queries[i];
    if (!validate(q.center)) {
      out.results[i].code = errc::invalid_coordinate;
      continue;
    }
    auto key = router_.shard_of(q.center);
    if (!key) {
      out.results[i].code = errc::out_of_region;
      continue;
    }
    auto& g = grouped[*key];
    g.first.queries.push_back(q);
    g.second.push_back(i);
  }
  std::vector<std::pair<matcher_handle, nearby_part>> parts;
  std::vector<std::vector<std::uint32_t>> slots;  // result index of each part's queries
  for (auto& [key, g] : grouped) {
    auto matcher = router_.matcher(key);
    if (!matcher) {  // shutting down
      for (auto i : g.second) out.results[i].code = errc::unavailable;
      continue;
    }
    parts.emplace_back(matcher, std::move(g.first));
    slots.push_back(std::move(g.second));
  }
  if (parts.empty()) return ctx_->write(c, std::move(out), seq);
  sys_.spawn(nearby_gatherer, ctx_, c, seq, std::move(slot), std::move(out), std::move(parts),
             std::move(slots));
}

}  // namespace rideshard::node
