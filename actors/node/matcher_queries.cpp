// matcher_queries: quotes and nearby queries of one shard, merged with the
// neighbour shards' nearest lists (only cells nearer than our own k-th hit).
#include "node/matcher_queries.hpp"

#include <algorithm>

#include "node/matcher_search.hpp"
#include "node/shard_search.hpp"

namespace rideshard::node {
namespace {

// The quote to its rider, and (durable node) its quote event, final ETA included.
void send_quote(matcher_self self, const caf::actor& to, rider_id rider, quote_answer&& a) {
  self->state.pricing->quote_sent(a.wire, rider, a.pickup, a.dropoff);
  caf::anon_send(to, std::move(a));  // the rider's handle is not typed (yet)
}

void fill(nearby_part_answer& a, std::vector<std::vector<neighbor>>& all) {
  for (std::size_t i = 0; i < all.size(); ++i) {
    auto& r = a.results[i];
    if (r.code != errc::ok) continue;
    r.drivers.reserve(all[i].size());
    r.distances_m.reserve(all[i].size());
    for (const auto& h : all[i]) {
      r.drivers.push_back(h.id);
      r.distances_m.push_back(static_cast<float>(h.distance_m));
    }
  }
}

}  // namespace

void on_quote(matcher_self self, const quote_ask& q) {
  auto& s = self->state;
  // The pickup ETA is the nearest driver's, whichever shard it is in.
  const double max_r = s.reg->sequential.max_radius_m;
  auto near = s.drivers->available().nearest(q.req.pickup, max_r, 1);
  const bool have = near && !near->empty();
  std::optional<lat_lng> nearest;
  if (have) nearest = near->front().pos;
  quote_answer a{s.pricing->quote(q.req.pickup, q.req.dropoff, nearest), q.req.pickup,
                 q.req.dropoff, q.reply};
  auto targets = neighbours(s.shards, s.ctx->regions, s.key, q.req.pickup,
                            have ? near->front().distance_m : max_r);
  if (targets.empty()) return send_quote(self, q.rider_actor, q.rider, std::move(a));
  std::vector<shard_probe> probes(targets.size(),
                                  shard_probe{{probe_query{q.req.pickup, max_r, 1, false}}});
  probe_neighbours(
      self, std::move(targets), std::move(probes),
      [self, a = std::move(a), have, to = q.rider_actor, rider = q.rider](probe_round& r) mutable {
        bool found = have;
        for (auto& ans : r.answers) {
          if (ans.empty() || ans[0].empty()) continue;
          auto eta = self->state.pricing->pickup_eta_s(ans[0].front().pos, a.pickup);
          if (!found || eta < a.wire.pickup_eta_s) a.wire.pickup_eta_s = eta;
          found = true;
        }
        send_quote(self, to, rider, std::move(a));
      });
}

caf::result<nearby_answer> on_nearby(matcher_self self, const nearby_query& q) {
  auto& s = self->state;
  nearby_answer a;
  auto bound = s.drivers->nearby(q.center, q.radius_m, q.k, a.hits);
  if (!bound) return nearby_answer{{}, bound.code()};
  auto targets = neighbours(s.shards, s.ctx->regions, s.key, q.center, *bound);
  if (targets.empty()) return a;
  auto rp = self->make_response_promise<nearby_answer>();
  std::vector<shard_probe> probes(targets.size(),
                                  shard_probe{{probe_query{q.center, *bound, q.k, true}}});
  probe_neighbours(self, std::move(targets), std::move(probes),
                   [rp, a = std::move(a), k = q.k](probe_round& r) mutable {
                     for (auto& ans : r.answers)
                       if (!ans.empty()) merge_nearest(a.hits, ans[0], k);
                     rp.deliver(std::move(a));
                   });
  return rp;
}

// Answers the part's queries; those near a shard edge merge the neighbours'
// lists before the answer goes out (one probe per neighbour).
caf::result<nearby_part_answer> on_nearby_part(matcher_self self, const nearby_part& part) {
  auto& st = self->state;
  nearby_part_answer answer;
  answer.results.resize(part.queries.size());
  std::vector<std::vector<neighbor>> hits(part.queries.size());
  std::vector<matcher_handle> targets;
  std::vector<shard_probe> probes;
  std::vector<std::vector<std::size_t>> asked;  // per target: query index of each probe query
  for (std::size_t i = 0; i < part.queries.size(); ++i) {
    const auto& q = part.queries[i];
    auto bound = st.drivers->nearby(q.center, q.radius_m, q.k, hits[i]);
    if (!bound) {
      answer.results[i].code = bound.code();
      continue;
    }
    for (auto& t : neighbours(st.shards, st.ctx->regions, st.key, q.center, *bound)) {
      auto at =
          static_cast<std::size_t>(std::find(targets.begin(), targets.end(), t) - targets.begin());
      if (at == targets.size()) {
        targets.push_back(t);
        probes.emplace_back();
        asked.emplace_back();
      }
      probes[at].queries.push_back({q.center, *bound, q.k, true});
      asked[at].push_back(i);
    }
  }
  if (targets.empty()) {
    fill(answer, hits);
    return answer;
  }
  auto rp = self->make_response_promise<nearby_part_answer>();
  probe_neighbours(self, std::move(targets), std::move(probes),
                   [rp, answer = std::move(answer), hits = std::move(hits), asked,
                    queries = part.queries](probe_round& r) mutable {
                     for (std::size_t t = 0; t < r.answers.size(); ++t)
                       for (std::size_t j = 0; j < r.answers[t].size() && j < asked[t].size(); ++j)
                         merge_nearest(hits[asked[t][j]], r.answers[t][j], queries[asked[t][j]].k);
                     fill(answer, hits);
                     rp.deliver(std::move(answer));
                   });
  return rp;
}

}  // namespace rideshard::node
