// matcher_search: probe fan-out to neighbour matchers and the scratch index of
// a cross-shard decision (see actors/node/README.md, "Cross-shard search").
#include "node/matcher_search.hpp"

#include <algorithm>
#include <memory>

namespace rideshard::node {

std::chrono::milliseconds probe_timeout(const matcher_self self) {
  auto t = self->state.ctx->opts.query_timeout / 2;
  return std::clamp(t, std::chrono::milliseconds(1), std::chrono::milliseconds(1000));
}

void probe_neighbours(matcher_self self, std::vector<matcher_handle> targets,
                      std::vector<shard_probe> probes, probe_done done) {
  auto round = std::make_shared<probe_round>();
  round->left = targets.size();
  round->answers.resize(targets.size());
  round->targets = std::move(targets);
  auto finish = [round, done] {
    if (--round->left == 0) done(*round);
  };
  for (std::size_t i = 0; i < round->targets.size(); ++i)
    self->request(round->targets[i], probe_timeout(self), std::move(probes[i]))
        .then(
            [round, i, finish](shard_probe_answer& a) {
              round->answers[i] = std::move(a.hits);
              finish();
            },
            [finish](caf::error&) { finish(); });
}

spatial_index& scratch(matcher_self self) {
  auto& st = self->state;
  if (!st.scratch.index) {  // coarse buckets: it only ever holds a few candidates per request
    spatial_index_config cfg;
    cfg.bounds = st.reg->bounds;
    cfg.bucket_size_m = 1000;
    st.scratch.index.emplace(spatial_index::create(cfg).value());
  }
  return *st.scratch.index;
}

void add_scratch(matcher_self self, const std::vector<neighbor>& hits,
                 const matcher_handle& owner) {
  auto& st = self->state;
  auto& idx = scratch(self);
  for (const auto& h : hits) {
    if (idx.contains(h.id)) continue;  // ours (added first) or a nearer shard's
    if (owner && st.drivers->available().contains(h.id)) continue;
    if (!owner && !st.drivers->has_actor(h.id)) continue;
    if (!idx.upsert(h.id, h.pos)) continue;
    st.scratch.ids.push_back(h.id);
    if (owner) st.scratch.owner[h.id] = owner;
  }
}

void clear_scratch(matcher_self self) {
  auto& sc = self->state.scratch;
  for (auto d : sc.ids) (void)sc.index->remove(d);
  sc.ids.clear();
  sc.owner.clear();
}

}  // namespace rideshard::node
