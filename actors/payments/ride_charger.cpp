// ride_charger: queue of trips whose ledger money moved, one worker making the
// PSP calls next_ride_action() asks for, records committed unsynced (see the header).
#include "payments/ride_charger.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "payments/detail/card_authorization.hpp"
#include "rideshard/persistence/ledger.hpp"

namespace rideshard::payments {

using json = nlohmann::json;

namespace {

std::string key_of(std::uint64_t trip, money_code code) {
  return to_string(make_transfer_id(money_domain::trip, trip, code));
}

// The extra charge is a fresh intent: authorized under the extra's key, then
// captured under the same key with this suffix.
constexpr const char* capture_suffix = "-capture";

// The attention index: one row per trip needing an operator, and a marker row
// (past every trip id) committed once the index covers every record.
constexpr std::uint64_t attention_built = std::numeric_limits<std::uint64_t>::max();
std::vector<std::uint8_t> index_row() { return {1}; }  // a snapshot needs a value

}  // namespace

std::vector<std::uint8_t> encode(const ride_charge_record& r) {
  const json j{{"trip", r.trip},
               {"rider", r.rider.value},
               {"method", r.method},
               {"intent", r.intent},
               {"extra_intent", r.extra_intent},
               {"auth", static_cast<int>(r.psp.auth)},
               {"settle", static_cast<int>(r.psp.settle)},
               {"extra_done", r.psp.extra_done},
               {"request_ended", r.psp.request_ended},
               {"authorized", r.authorized},
               {"collected", r.collected},
               {"uncollected", r.uncollected},
               {"retries", r.retries},
               {"last_error", r.last_error},
               {"updated_ms", r.updated_ms}};
  const std::string s = j.dump();
  return {s.begin(), s.end()};
}

result<ride_charge_record> decode_ride_charge(const std::vector<std::uint8_t>& bytes) {
  try {
    const json j = json::parse(bytes.begin(), bytes.end());
    ride_charge_record r;
    r.trip = j.at("trip").get<std::uint64_t>();
    r.rider = rider_id{j.at("rider").get<std::uint64_t>()};
    r.method = j.at("method").get<std::uint64_t>();
    r.intent = j.at("intent").get<std::string>();
    r.extra_intent = j.at("extra_intent").get<std::string>();
    r.psp.auth = static_cast<ride_auth>(j.at("auth").get<int>());
    r.psp.settle = static_cast<ride_settle>(j.at("settle").get<int>());
    r.psp.extra_done = j.at("extra_done").get<bool>();
    r.psp.request_ended = j.at("request_ended").get<bool>();
    r.authorized = j.at("authorized").get<std::int64_t>();
    r.collected = j.at("collected").get<std::int64_t>();
    r.uncollected = j.at("uncollected").get<std::int64_t>();
    r.retries = j.at("retries").get<std::uint32_t>();
    r.last_error = j.at("last_error").get<std::string>();
    r.updated_ms = j.at("updated_ms").get<std::int64_t>();
    return r;
  } catch (const std::exception&) {
    return error{errc::bad_json, "stored ride_charge record is not readable"};
  }
}

std::string ride_charge_json(const ride_charge_record& r) {
  json j{{"trip", to_string(trip_id{r.trip})},
         {"rider", to_string(r.rider)},
         {"authorization", to_string(r.psp.auth)},
         {"settlement", to_string(r.psp.settle)},
         {"intent", r.intent},
         {"authorized_minor", r.authorized},
         {"collected_minor", r.collected},
         {"uncollected_minor", r.uncollected},
         {"retries", r.retries},
         {"updated_at_ms", r.updated_ms}};
  j["method"] = r.method != 0 ? json(method_name(r.method)) : json(nullptr);
  j["extra_intent"] = r.extra_intent.empty() ? json(nullptr) : json(r.extra_intent);
  j["last_error"] = r.last_error.empty() ? json(nullptr) : json(r.last_error);
  return j.dump();
}

bool needs_attention(const ride_charge_record& r) {
  return r.psp.auth == ride_auth::declined || r.psp.auth == ride_auth::failed ||
         r.psp.settle == ride_settle::uncollected || r.uncollected > 0 || r.retries > 0;
}

ride_charger::ride_charger(persistence::store& store, persistence::token_vault& vault,
                           const payment_service& methods, psp& provider, ride_charger_options opts)
    : store_(store), vault_(vault), methods_(methods), psp_(provider), opts_(std::move(opts)) {}

result<std::unique_ptr<ride_charger>> ride_charger::open(persistence::store& store,
                                                         persistence::token_vault& vault,
                                                         const payment_service& methods,
                                                         psp& provider, ride_charger_options opts) {
  if (!opts.now_ms) return error{errc::bad_config, "ride_charger needs now_ms"};
  std::unique_ptr<ride_charger> c(
      new ride_charger(store, vault, methods, provider, std::move(opts)));
  if (auto ok = c->index_attention(); !ok) return ok.err();
  return c;
}

result<void> ride_charger::index_attention() {
  using persistence::entity_kind;
  auto marker = store_.load_entity(entity_kind::ride_charge_attention, attention_built);
  if (!marker) return marker.err();
  if (*marker) return {};
  // A store from before the index: one pass over the records, a page at a time.
  persistence::write_batch b;
  for (std::uint64_t after = 0;;) {
    constexpr std::size_t page = 1024;
    auto rows = store_.load_entities_page(entity_kind::ride_charge, after, page);
    if (!rows) return rows.err();
    for (const auto& row : *rows) {
      ++records_read_;
      auto r = decode_ride_charge(row.value);
      if (!r) return r.err();
      if (needs_attention(*r))
        b.put_entity(entity_kind::ride_charge_attention, row.id, 0, index_row());
    }
    if (rows->size() < page) break;
    after = rows->back().id;
  }
  b.put_entity(entity_kind::ride_charge_attention, attention_built, 0, index_row());
  if (auto ok = store_.commit(b); !ok) return ok.err();
  return {};
}

result<std::optional<ride_charge_record>> ride_charger::load(std::uint64_t trip) const {
  auto row = store_.load_entity(persistence::entity_kind::ride_charge, trip);
  if (!row) return row.err();
  if (!*row) return std::optional<ride_charge_record>{};
  ++records_read_;
  auto r = decode_ride_charge((*row)->value);
  if (!r) return r.err();
  return std::optional<ride_charge_record>{std::move(*r)};
}

ride_charger::~ride_charger() { stop(); }

void ride_charger::set_end_request(std::function<result<void>(trip_id, const std::string&)> fn) {
  std::lock_guard lock(mu_);
  opts_.end_request = std::move(fn);
}

void ride_charger::note(std::string_view step, std::string_view outcome,
                        std::int64_t amount) const {
  if (opts_.observe) opts_.observe(step, outcome, amount);
}

void ride_charger::report_backlog() const {
  if (opts_.on_backlog) opts_.on_backlog(backlog());
}

void ride_charger::committed(const persistence::write_batch& b) {
  std::vector<std::uint64_t> trips;
  for (const auto& chain : b.transfer_chains())
    for (const auto& t : chain) {
      ride_ledger l;
      if (add_ride_transfer(l, t) && (trips.empty() || trips.back() != l.trip))
        trips.push_back(l.trip);
    }
  if (trips.empty()) return;
  const std::int64_t now = opts_.now_ms();
  {
    std::lock_guard lock(mu_);
    for (auto trip : trips) {
      due_[trip] = now;
      backoff_.erase(trip);
    }
  }
  cv_.notify_one();
  report_backlog();
}

result<ride_reconcile_report> ride_charger::reconcile() {
  // Only the ledger's ride-due index: rides whose PSP calls were never known to
  // be in line (a ride settled before the restart is not read at all).
  persistence::ledger ledger(store_);
  auto due = ledger.rides_due();
  if (!due) return due.err();
  std::vector<std::uint64_t> trips;
  for (const auto& id : *due)
    if (trips.empty() || trips.back() != id.hi) trips.push_back(id.hi);  // sorted by trip
  ride_reconcile_report rep;
  rep.trips = trips.size();
  std::vector<transfer_id> in_line;
  const std::int64_t now = opts_.now_ms();
  for (auto trip : trips) {
    std::vector<transfer_id> present;
    auto l = ledger_of(trip, &present);
    if (!l) return l.err();
    auto rec = load(trip);
    if (!rec) return rec.err();
    const ride_psp p = *rec ? (*rec)->psp : ride_psp{};
    if (next_ride_action(*l, p).step == ride_step::none) {
      // Recorded, but the index row outlived it (its delete is not synced).
      in_line.insert(in_line.end(), present.begin(), present.end());
      continue;
    }
    std::lock_guard lock(mu_);
    due_[trip] = now;
    ++rep.pending;
  }
  cv_.notify_one();
  report_backlog();
  if (auto ok = ledger.clear_ride_due(in_line); !ok) return ok.err();
  return rep;
}

void ride_charger::start() {
  std::lock_guard lock(mu_);
  if (worker_.joinable()) return;
  stopping_ = false;
  worker_ = std::thread([this] { work(); });
}

void ride_charger::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void ride_charger::work() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const std::int64_t now = opts_.now_ms();
    auto next = std::min_element(due_.begin(), due_.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
    if (next == due_.end()) {
      cv_.wait(lock);
      continue;
    }
    if (next->second > now) {
      cv_.wait_for(lock, std::chrono::milliseconds(next->second - now));
      continue;
    }
    const std::uint64_t trip = next->first;
    due_.erase(next);
    lock.unlock();
    const bool done = process(trip);
    lock.lock();
    if (done) {
      backoff_.erase(trip);
    } else {
      auto& wait = backoff_[trip];
      wait = wait.count() == 0 ? opts_.retry_min : std::min(wait * 2, opts_.retry_max);
      if (due_.count(trip) == 0) due_[trip] = opts_.now_ms() + wait.count();
    }
    if (opts_.on_backlog) opts_.on_backlog(due_.size());
  }
}

std::size_t ride_charger::run_queued() {
  std::vector<std::uint64_t> trips;
  {
    std::lock_guard lock(mu_);
    for (const auto& [trip, at] : due_) trips.push_back(trip);
    due_.clear();
  }
  std::size_t left = 0;
  for (auto trip : trips)
    if (!process(trip)) {
      std::lock_guard lock(mu_);
      due_[trip] = opts_.now_ms();
      ++left;
    }
  report_backlog();
  return left;
}

std::size_t ride_charger::backlog() const {
  std::lock_guard lock(mu_);
  return due_.size();
}

std::optional<ride_charge_record> ride_charger::find(trip_id trip) const {
  auto r = load(trip.value);
  if (!r) return std::nullopt;
  return std::move(*r);
}

result<ride_charge_page> ride_charger::records(bool attention_only, std::uint64_t after,
                                               std::size_t max) const {
  using persistence::entity_kind;
  ride_charge_page out;
  auto rows = store_.load_entities_page(
      attention_only ? entity_kind::ride_charge_attention : entity_kind::ride_charge, after, max);
  if (!rows) return rows.err();
  for (const auto& row : *rows) {
    if (row.id == attention_built) return out;  // the marker: no page after it
    if (attention_only) {
      // An index row names the trip; its record is read by id.
      auto r = load(row.id);
      if (!r) return r.err();
      if (*r) out.rides.push_back(std::move(**r));
      continue;
    }
    ++records_read_;
    auto r = decode_ride_charge(row.value);
    if (!r) return r.err();
    out.rides.push_back(std::move(*r));
  }
  if (max > 0 && rows->size() == max) out.next = rows->back().id;
  return out;
}

result<ride_ledger> ride_charger::ledger_of(std::uint64_t trip,
                                            std::vector<transfer_id>* present) const {
  const persistence::ledger ledger(store_);
  ride_ledger l;
  l.trip = trip;
  for (auto code : {money_code::hold, money_code::capture, money_code::extra_charge,
                    money_code::release, money_code::cancel_fee}) {
    const transfer_id id = make_transfer_id(money_domain::trip, trip, code);
    auto t = ledger.find(id);
    if (!t) return t.err();
    if (!*t) continue;
    add_ride_transfer(l, **t);
    if (present) present->push_back(id);
  }
  return l;
}

result<void> ride_charger::save(ride_charge_record& r) {
  r.updated_ms = opts_.now_ms();
  persistence::write_batch b;
  // Not synced: the trip path's commits do not wait on this one's disk sync. A
  // record a power cut drops is rebuilt: the ledger's ride-due rows it would
  // have cleared come later in the WAL, so they are lost with it, reconcile()
  // queues the ride again, and the PSP replays each answer by its key.
  b.set_sync(false);
  b.put_entity(persistence::entity_kind::ride_charge, r.trip, 0, encode(r));
  // The attention index moves with the record, in its batch.
  if (needs_attention(r))
    b.put_entity(persistence::entity_kind::ride_charge_attention, r.trip, 0, index_row());
  else
    b.erase_entity(persistence::entity_kind::ride_charge_attention, r.trip);
  if (auto ok = store_.commit(b); !ok) return ok.err();
  return {};
}

bool ride_charger::process(std::uint64_t trip) {
  std::lock_guard one_at_a_time(run_mu_);
  std::vector<transfer_id> present;  // what this pass brings in line
  auto l = ledger_of(trip, &present);
  if (!l) return false;
  auto stored = load(trip);
  if (!stored) return false;  // unreadable now: retried later
  ride_charge_record r = stored->value_or(ride_charge_record{});
  r.trip = trip;
  if (l->rider.valid()) r.rider = l->rider;
  // Each step records an outcome, so a ride takes a handful at most.
  for (int steps = 0; steps < 16; ++steps) {
    const ride_action a = next_ride_action(*l, r.psp);
    if (a.step == ride_step::none) {
      // In line and recorded: out of the ledger's ride-due index. Only the
      // transfers read above — one committed since keeps its row and its turn.
      // A failed delete is harmless: reconcile() finds the ride in line.
      (void)persistence::ledger(store_).clear_ride_due(present);
      return true;
    }
    auto ok = run(a, *l, r);
    if (!ok) {
      note(to_string(a.step), "unavailable", a.amount);
      if (ok.code() != errc::storage_error) {  // count it where an admin sees it
        ++r.retries;
        r.last_error = ok.err().message;
        (void)save(r);
      }
      return false;
    }
    r.retries = 0;
    if (auto s = save(r); !s) return false;
  }
  return true;
}

result<void> ride_charger::run(const ride_action& a, const ride_ledger& l, ride_charge_record& r) {
  const std::string step(to_string(a.step));
  // A final refusal from the PSP: recorded, never retried under the same key.
  auto refused = [&](const error& e) {
    r.last_error = e.message;
    note(step, e.code == errc::payment_declined ? "declined" : "failed", a.amount);
  };
  switch (a.step) {
    case ride_step::none:
      return {};
    case ride_step::authorize: {
      auto m = methods_.default_method(l.rider);
      if (!m) {
        r.psp.auth = ride_auth::no_method;
        note(step, "no_method", a.amount);
        return {};
      }
      auto auth = detail::authorize_card(psp_, vault_, m->token, key_of(l.trip, money_code::hold),
                                         a.amount, opts_.currency);
      if (!auth.sent) return error{errc::psp_unavailable, "vault: " + auth.answer.err().message};
      auto& in = auth.answer;
      if (!in && in.code() == errc::psp_unavailable) return in.err();
      r.method = m->id;
      if (!in) {
        r.psp.auth = in.code() == errc::payment_declined ? ride_auth::declined : ride_auth::failed;
        refused(in.err());
        return {};
      }
      r.psp.auth = ride_auth::authorized;
      r.intent = in->id;
      r.authorized = in->amount_capturable > 0 ? in->amount_capturable : a.amount;
      note(step, "ok", a.amount);
      return {};
    }
    case ride_step::capture: {
      auto in = psp_.capture(r.intent, a.amount, key_of(l.trip, a.key));
      if (!in && in.code() == errc::psp_unavailable) return in.err();
      if (!in) {  // e.g. the hold expired at the PSP: the ledger's charge is a debt
        r.psp.settle = ride_settle::uncollected;
        r.uncollected += a.amount;
        refused(in.err());
        return {};
      }
      r.psp.settle = ride_settle::captured;
      r.collected += a.amount;
      note(step, "ok", a.amount);
      return {};
    }
    case ride_step::cancel: {
      auto in = psp_.cancel(r.intent, key_of(l.trip, a.key));
      if (!in && in.code() == errc::psp_unavailable) return in.err();
      if (!in)
        refused(in.err());  // released or expired at the PSP already
      else
        note(step, "ok", 0);
      r.psp.settle = ride_settle::released;
      return {};
    }
    case ride_step::charge_extra: {
      auto m = r.method != 0 ? methods_.default_method(l.rider) : std::nullopt;
      if (!m) {
        r.psp.extra_done = true;
        r.uncollected += a.amount;
        note(step, "no_method", a.amount);
        return {};
      }
      const std::string key = key_of(l.trip, a.key);
      auto auth = detail::authorize_card(psp_, vault_, m->token, key, a.amount, opts_.currency);
      if (!auth.sent) return error{errc::psp_unavailable, "vault: " + auth.answer.err().message};
      auto& in = auth.answer;
      if (!in && in.code() == errc::psp_unavailable) return in.err();
      if (in) {
        r.extra_intent = in->id;
        auto cap = psp_.capture(in->id, a.amount, key + capture_suffix);
        if (!cap && cap.code() == errc::psp_unavailable) return cap.err();
        in = cap ? result<psp_intent>(*cap) : result<psp_intent>(cap.err());
      }
      r.psp.extra_done = true;
      if (!in) {
        r.uncollected += a.amount;
        refused(in.err());
        return {};
      }
      r.collected += a.amount;
      note(step, "ok", a.amount);
      return {};
    }
    case ride_step::end_request: {
      std::function<result<void>(trip_id, const std::string&)> end;
      {
        std::lock_guard lock(mu_);
        end = opts_.end_request;
      }
      if (!end) return error{errc::unavailable, "the node is not up yet to end the request"};
      const char* reason =
          r.psp.auth == ride_auth::declined ? payment_declined_reason : payment_failed_reason;
      auto ok = end(trip_id{l.trip}, reason);
      if (!ok && ok.code() != errc::illegal_transition && ok.code() != errc::unknown_trip)
        return ok.err();
      r.psp.request_ended = true;
      note(step, ok ? "ok" : "failed", 0);
      return {};
    }
    case ride_step::nothing_held:
      r.psp.settle = ride_settle::released;
      note(step, "ok", 0);
      return {};
    case ride_step::uncollectable:
      if (a.key == money_code::extra_charge)
        r.psp.extra_done = true;
      else
        r.psp.settle = ride_settle::uncollected;
      r.uncollected += a.amount;
      note(step, to_string(r.psp.auth), a.amount);
      return {};
  }
  return {};
}

}  // namespace rideshard::payments
