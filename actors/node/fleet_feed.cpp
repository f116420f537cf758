// fleet_feed: checks admin fleet samples and nearby queries, groups them per
// shard, sends one message per shard matcher and gathers the answers.
#include "node/fleet_feed.hpp"

#include <map>
#include <utility>

#include "node/shard_router.hpp"

namespace rideshard::node {

// ---- fleet_ingest_job -------------------------------------------------------

fleet_ingest_job::fleet_ingest_job(context_ptr ctx, reply_to reply,
                                   std::shared_ptr<std::atomic<int>> slot)
    : ctx_(std::move(ctx)), reply_(std::move(reply)), slot_(std::move(slot)) {}

fleet_ingest_job::~fleet_ingest_job() {
  if (slot_) slot_->fetch_sub(1);
}

void fleet_ingest_job::reject(errc code, std::string why) {
  ctx_->stats.error(code);
  std::lock_guard<std::mutex> lock{mu_};
  if (rejected_++ == 0) {
    first_code_ = code;
    first_why_ = std::move(why);
  }
}

void fleet_ingest_job::expect_parts(std::size_t parts) {
  {
    std::lock_guard<std::mutex> lock{mu_};
    parts_left_ = parts;
  }
  if (parts == 0) finish();
}

void fleet_ingest_job::part_done(std::uint32_t accepted) {
  {
    std::lock_guard<std::mutex> lock{mu_};
    accepted_ += accepted;
    if (--parts_left_ != 0) return;
  }
  finish();
}

void fleet_ingest_job::finish() {
  std::uint32_t accepted = 0, rejected = 0;
  errc code = errc::ok;
  std::string why;
  {
    std::lock_guard<std::mutex> lock{mu_};
    accepted = accepted_;
    rejected = rejected_;
    code = first_code_;
    why = first_why_;
  }
  if (accepted == 0 && rejected > 0)
    return ctx_->send_error(reply_, code,
                            "all " + std::to_string(rejected) + " samples rejected; first: " + why);
  ctx_->send(reply_.session, schemas::ack{accepted}, reply_.seq);
}

// ---- nearby_batch_job -------------------------------------------------------

nearby_batch_job::nearby_batch_job(context_ptr ctx, reply_to reply, std::size_t queries,
                                   std::shared_ptr<std::atomic<int>> slot)
    : ctx_(std::move(ctx)), reply_(std::move(reply)), slot_(std::move(slot)) {
  out_.results.resize(queries);
}

nearby_batch_job::~nearby_batch_job() {
  if (slot_) slot_->fetch_sub(1);
}

void nearby_batch_job::expect_parts(std::size_t parts) {
  {
    std::lock_guard<std::mutex> lock{mu_};
    parts_left_ = parts;
  }
  if (parts == 0) ctx_->send(reply_.session, std::move(out_), reply_.seq);
}

void nearby_batch_job::part_done() {
  {
    std::lock_guard<std::mutex> lock{mu_};
    if (--parts_left_ != 0) return;
  }
  // The mutex orders every matcher's slot writes before this read.
  ctx_->send(reply_.session, std::move(out_), reply_.seq);
}

// ---- fleet_feed -------------------------------------------------------------

fleet_feed::fleet_feed(context_ptr ctx, shard_router& router)
    : ctx_(std::move(ctx)), router_(router) {}

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
  auto slot = take_slot(c, seq);
  if (!slot) return;
  auto job =
      std::make_shared<fleet_ingest_job>(ctx_, reply_to{ctx_->session_of(c), seq}, std::move(slot));
  std::map<std::uint32_t, fleet_upsert> parts;  // by shard number
  std::vector<std::pair<shard_key, fleet_upsert>> out;
  {
    std::lock_guard<std::mutex> lock{fed_mu_};
    std::optional<shard_key> last_key;
    std::uint32_t last = 0;
    fleet_upsert* part = nullptr;
    for (const auto& s : m.samples) {
      if (!s.driver.valid()) {
        job->reject(errc::missing_field, "fleet_position.driver_id must be non-zero");
        continue;
      }
      if (auto ok = validate(s.pos); !ok) {
        job->reject(ok.code(), to_string(s.driver) + ": " + ok.err().message);
        continue;
      }
      if (s.at_ms < 0) {
        job->reject(errc::invalid_argument, to_string(s.driver) + ": at_ms must be >= 0");
        continue;
      }
      auto key = router_.shard_of(s.pos);
      if (!key) {
        job->reject(errc::out_of_region, to_string(s.driver) + ": position outside every region");
        continue;
      }
      // Feeds are spatially clustered: most samples share the previous one's shard.
      if (!last_key || key->region != last_key->region || key->cell != last_key->cell) {
        last = shard_number(*key);
        last_key = key;
        part = &parts[last];
      }
      auto [at, fresh] = fed_shard_.try_emplace(s.driver.value, last);
      if (!fresh && at->second != last) {
        parts[at->second].forget.push_back(s.driver);
        at->second = last;
      }
      part->samples.push_back(rideshard::driver_position{s.driver, s.pos});
    }
    out.reserve(parts.size());
    for (auto& [number, p] : parts) out.emplace_back(shards_[number], std::move(p));
  }
  job->expect_parts(out.size());
  for (auto& [key, part] : out) {
    auto matcher = router_.matcher(key);
    if (!matcher) {  // shutting down
      job->part_done(0);
      continue;
    }
    part.job = job;
    caf::anon_send(matcher, fleet_atom::value, std::move(part));
  }
}

void fleet_feed::nearby(const gateway::connection_ptr& c, std::uint64_t seq,
                        schemas::nearby_batch& m) {
  auto slot = take_slot(c, seq);
  if (!slot) return;
  auto job = std::make_shared<nearby_batch_job>(ctx_, reply_to{ctx_->session_of(c), seq},
                                                m.queries.size(), std::move(slot));
  std::map<shard_key, nearby_part> parts;
  for (std::uint32_t i = 0; i < m.queries.size(); ++i) {
    const auto& q = m.queries[i];
    if (!validate(q.center)) {
      job->results()[i].code = errc::invalid_coordinate;
      continue;
    }
    auto key = router_.shard_of(q.center);
    if (!key) {
      job->results()[i].code = errc::out_of_region;
      continue;
    }
    auto& part = parts[*key];
    part.slots.push_back(i);
    part.queries.push_back(q);
  }
  job->expect_parts(parts.size());
  for (auto& [key, part] : parts) {
    auto matcher = router_.matcher(key);
    if (!matcher) {
      for (auto i : part.slots) job->results()[i].code = errc::unavailable;
      job->part_done();
      continue;
    }
    part.job = job;
    caf::anon_send(matcher, nearby_batch_atom::value, std::move(part));
  }
}

}  // namespace rideshard::node
