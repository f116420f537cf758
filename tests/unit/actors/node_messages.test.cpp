// Every registered node message type (node/message_types.hpp) survives CAF's
// binary serializer, as a value and inside a caf::message, field by field: the
// comparisons below are written independently of inspect(), so a field that
// inspect() forgets fails here. The list drives the test: a newly registered
// type without a sample does not compile.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "../schemas/sample_messages.hpp"
#include "node/message_types.hpp"

using namespace rideshard;
using namespace rideshard::node;
namespace smp = rideshard::schemas::samples;

namespace {

template <class T>
struct type {
  using t = T;
};

struct fixture {
  struct config : caf::actor_system_config {
    config() { add_node_message_types(*this); }
  };
  config cfg;
  caf::actor_system sys{cfg};
  // One spawn argument: CAF 0.17 keeps an empty argument tuple as a null
  // shared_ptr and binds a reference to it at start-up (UBSan: null reference).
  caf::actor a = sys.spawn([](int) -> caf::behavior { return {[](int) {}}; }, 0);
  caf::actor b = sys.spawn([](int) -> caf::behavior { return {[](int) {}}; }, 0);
  // Typed handles on the same actors: serialization keeps the address.
  trip_handle trip_a = caf::actor_cast<trip_handle>(a);
  trip_handle trip_b = caf::actor_cast<trip_handle>(b);
  rider_handle rider_a = caf::actor_cast<rider_handle>(a);
  rider_handle rider_b = caf::actor_cast<rider_handle>(b);
  ~fixture() {
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  }
};

const lat_lng p1{40.758, -73.9855};
const lat_lng p2{40.7061, -74.0087};

// ---- samples: every field set to something other than its default ----------

std::vector<driver_id> samples(fixture&, type<driver_id>) { return {smp::driver}; }
std::vector<trip_id> samples(fixture&, type<trip_id>) { return {smp::trip}; }
std::vector<rider_id> samples(fixture&, type<rider_id>) { return {smp::rider}; }
std::vector<lat_lng> samples(fixture&, type<lat_lng>) { return {p1}; }
std::vector<errc> samples(fixture&, type<errc>) { return {errc::wrong_pin, errc::ok}; }
std::vector<schemas::trip_status> samples(fixture&, type<schemas::trip_status>) {
  auto cancelled = smp::status(trip_state::cancelled, false);
  cancelled.cancelled_by = party::driver;
  cancelled.cancel_reason = "flat tyre";
  return {smp::status(trip_state::accepted, true), smp::searching(3000), cancelled};
}
std::vector<driver_avail> samples(fixture& fx, type<driver_avail>) {
  return {{smp::driver, p1, fx.a, true}};
}
std::vector<dispatch_request> samples(fixture& fx, type<dispatch_request>) {
  return {{smp::trip, p1, fx.trip_a}};
}
std::vector<redispatch_request> samples(fixture& fx, type<redispatch_request>) {
  return {{smp::trip, p1, fx.trip_a, {smp::driver, driver_id{99}}}, {smp::trip, p2, fx.trip_b, {}}};
}
std::vector<offer_to> samples(fixture& fx, type<offer_to>) {
  return {{smp::driver, fx.a, 360, 3, 1450}};
}
std::vector<offer_timed_out> samples(fixture&, type<offer_timed_out>) {
  return {{smp::driver, 3}, {smp::driver, 0}};
}
std::vector<offer_closed> samples(fixture&, type<offer_closed>) {
  return {{smp::trip, smp::driver, true, false}, {smp::trip, smp::driver, false, true}};
}
std::vector<trip_finished> samples(fixture&, type<trip_finished>) { return {{smp::trip}}; }
std::vector<trip_update> samples(fixture& fx, type<trip_update>) {
  schemas::receipt r{smp::trip, trip_state::completed, smp::fare(), "USD", 6120, 1320, 250};
  return {{smp::status(trip_state::completed, true), r, fx.trip_a, fx.rider_b},
          {smp::status(trip_state::accepted, false), std::nullopt, fx.trip_b, fx.rider_a}};
}
std::vector<offer_withdrawn> samples(fixture&, type<offer_withdrawn>) {
  return {{smp::trip, smp::status(trip_state::expired, false), true},
          {smp::trip, smp::status(trip_state::requested, false), false}};
}
std::vector<shard_key> samples(fixture&, type<shard_key>) { return {{2, cell_id{0x89c25}}}; }
std::vector<shard_added> samples(fixture& fx, type<shard_added>) {
  return {{{1, cell_id{0x89c259}}, caf::actor_cast<matcher_handle>(fx.a)}};
}
std::vector<trip_failed> samples(fixture&, type<trip_failed>) {
  return {{smp::trip, errc::storage_error, "disk full", 17}};
}
std::vector<position_push> samples(fixture&, type<position_push>) {
  return {{schemas::driver_position{
      smp::trip, smp::driver, schemas::location_sample{p1, 212.5f, 8.25f, 1718000031000}, 330}}};
}
std::vector<nearby_query> samples(fixture&, type<nearby_query>) { return {{p1, 1500.5, 7}}; }
std::vector<nearby_answer> samples(fixture&, type<nearby_answer>) {
  return {{{neighbor{smp::driver, p1, 12.5}, neighbor{driver_id{3}, p2, 800.25}}, errc::ok},
          {{}, errc::invalid_radius}};
}
std::vector<snapshot_answer> samples(fixture&, type<snapshot_answer>) {
  return {{smp::status(trip_state::in_progress, true)}};
}
std::vector<trip_answer> samples(fixture&, type<trip_answer>) {
  return {{errc::illegal_transition, "t-1 is already completed",
           smp::status(trip_state::completed, true)}};
}
std::vector<http_trip_command> samples(fixture& fx, type<http_trip_command>) {
  return {{smp::trip, trip_event_kind::start, "4821", "late", fx.a}};
}
std::vector<shard_probe> samples(fixture&, type<shard_probe>) {
  return {{{probe_query{p1, 900.5, 5, true}, probe_query{p2, 100, 1, false}}}};
}
std::vector<shard_probe_answer> samples(fixture&, type<shard_probe_answer>) {
  return {{{{neighbor{smp::driver, p1, 12.5}}, {}, {neighbor{driver_id{5}, p2, 1.25}}}}};
}
std::vector<reserve_answer> samples(fixture& fx, type<reserve_answer>) {
  return {{true, p2, fx.b}, {false, {}, {}}};
}
std::vector<commit_outcome> samples(fixture&, type<commit_outcome>) {
  return {{errc::storage_error, "disk full"}, {}};
}

std::vector<session_frame> samples(fixture&, type<session_frame>) {
  std::vector<session_frame> out;
  for (auto& m : smp::server_messages())
    out.push_back({{static_cast<std::uint16_t>(m.seq % 7 + 1), m.seq + 40}, m.body, m.reply_to});
  return out;
}
std::vector<session_close> samples(fixture&, type<session_close>) {
  return {{{2, 77}, "replaced by a new connection"}};
}
std::vector<attach_request> samples(fixture&, type<attach_request>) {
  return {{{3, 77}, 5, true, identity{"d-7", schemas::role::driver}},
          {{1, 78}, 1, false, identity{"r-9", schemas::role::rider}}};
}
std::vector<trip_command> samples(fixture& fx, type<trip_command>) {
  trip_command c;
  c.kind = trip_event_kind::start;
  c.by = party::rider;
  c.driver = smp::driver;
  c.rider = smp::rider;
  c.pin = "4821";
  c.reason = "late";
  c.reply = {{2, 77}, 12};
  c.answer_to = fx.b;
  return {c, trip_command{}};
}
std::vector<quote_ask> samples(fixture& fx, type<quote_ask>) {
  return {{schemas::quote_request{p1, p2}, {{1, 77}, 3}, fx.a, smp::rider}};
}
std::vector<quote_answer> samples(fixture&, type<quote_answer>) {
  schemas::quote q{
      quote_id{7208245990512345}, smp::fare(), "USD", 1200, 240, 6120, 1260, 1718000120000};
  return {{q, p1, p2, {{1, 77}, 3}}};
}

std::vector<client_envelope> samples(fixture&, type<client_envelope>) {
  std::vector<client_envelope> out;
  for (auto& m : smp::client_messages()) out.push_back({{1, m.seq + 10}, m, 1718000000123456});
  return out;
}
std::vector<offer_delivery> samples(fixture& fx, type<offer_delivery>) {
  return {{schemas::offer{smp::trip, p1, p2, 360, 2489, "USD", 1718000015000}, fx.trip_a,
           1718000000123456}};
}
std::vector<http_ride> samples(fixture& fx, type<http_ride>) {
  return {{schemas::ride_request{quote_id{42}, p1, p2}, fx.b, 1718000000123456},
          {schemas::ride_request{std::nullopt, p2, p1}, fx.a, 0}};
}

std::vector<fleet_upsert> samples(fixture&, type<fleet_upsert>) {
  return {
      {{rideshard::driver_position{smp::driver, p1}, rideshard::driver_position{driver_id{8}, p2}},
       {driver_id{9}}}};
}
std::vector<fleet_applied> samples(fixture&, type<fleet_applied>) {
  return {{12, {3, errc::duplicate_id, "d-7 is connected as a driver"}}};
}
std::vector<nearby_part> samples(fixture&, type<nearby_part>) {
  return {{{schemas::nearby_query{p1, 2000, 10}, schemas::nearby_query{p2, 0, 3}}}};
}
std::vector<nearby_part_answer> samples(fixture&, type<nearby_part_answer>) {
  return {{{schemas::nearby_result{{smp::driver, driver_id{8}}, {612.5f, 1544.25f}},
            schemas::nearby_result{{}, {}, errc::invalid_radius}}}};
}
std::vector<driver_unavail> samples(fixture&, type<driver_unavail>) { return {{smp::driver}}; }
std::vector<positions_flush> samples(fixture&, type<positions_flush>) { return {{true}, {false}}; }
std::vector<parked_retry> samples(fixture&, type<parked_retry>) { return {{}}; }
std::vector<batch_window> samples(fixture&, type<batch_window>) { return {{}}; }
std::vector<reserve_driver> samples(fixture&, type<reserve_driver>) { return {{smp::driver}}; }
std::vector<release_driver> samples(fixture&, type<release_driver>) { return {{smp::driver, p2}}; }
std::vector<surge_freeze> samples(fixture&, type<surge_freeze>) { return {{true}, {false}}; }
std::vector<search_progress> samples(fixture&, type<search_progress>) { return {{3000}}; }
std::vector<no_driver_found> samples(fixture&, type<no_driver_found>) { return {{8000}}; }
std::vector<no_driver_check> samples(fixture&, type<no_driver_check>) { return {{}}; }
std::vector<member_beat> samples(fixture& fx, type<member_beat>) {
  return {{2,
           "127.0.0.1:4102",
           "0.1.0",
           1765000000123,
           {"127.0.0.1:4101", "10.0.0.3:4103"},
           caf::actor_cast<session_registry_handle>(fx.a),
           fx.b,
           fx.a,
           41,
           {0, 5, 17}},
          {3, "node-3:4103", "0.2.0", 1, {}, {}, {}, {}, 0, {}}};
}
std::vector<registry_route> samples(fixture& fx, type<registry_route>) {
  return {{3, caf::actor_cast<session_registry_handle>(fx.b)}, {4, {}}};
}
std::vector<groups_served> samples(fixture&, type<groups_served>) {
  return {{12, {1, 2, 30}}, {13, {}}};
}
std::vector<location_out> samples(fixture& fx, type<location_out>) {
  return {{3, caf::actor_cast<matcher_handle>(fx.a), {smp::driver, p1, fx.b, true}},
          {2, caf::actor_cast<matcher_handle>(fx.b), {smp::driver, p2, {}, false, true}}};
}
std::vector<location_part> samples(fixture& fx, type<location_part>) {
  return {{caf::actor_cast<matcher_handle>(fx.b),
           {{smp::driver, p1, fx.a, false}, {driver_id{8}, p2, fx.b, true}}}};
}
std::vector<location_bundle> samples(fixture& fx, type<location_bundle>) {
  return {{{{caf::actor_cast<matcher_handle>(fx.a), {{smp::driver, p2, fx.b, true}}},
            {caf::actor_cast<matcher_handle>(fx.b), {}}}},
          {}};
}
std::vector<location_flush> samples(fixture&, type<location_flush>) { return {{2, 19}}; }
std::vector<relay_route> samples(fixture& fx, type<relay_route>) {
  return {{2, caf::actor_cast<location_relay_handle>(fx.a)}, {3, {}}};
}
std::vector<membership_start> samples(fixture&, type<membership_start>) {
  return {{"127.0.0.1:4101"}};
}
std::vector<membership_tick> samples(fixture&, type<membership_tick>) { return {{7}}; }
std::vector<group_serve> samples(fixture&, type<group_serve>) {
  rideshard::trip t;
  t.id = smp::trip;
  t.rider = smp::rider;
  t.driver = smp::driver;
  t.state = trip_state::accepted;
  t.pickup = p1;
  t.dropoff = p2;
  t.pin = "4821";
  t.sequence = 3;
  t.requested_at_ms = 1765000000123;
  t.accepted_at_ms = 1765000004567;
  return {{5, {t}}, {0, {}}};
}
std::vector<group_stop> samples(fixture&, type<group_stop>) { return {{11, true}, {2, false}}; }
std::vector<trip_init> samples(fixture& fx, type<trip_init>) {
  trip_init fresh;  // a new ride, forwarded from the rider's node
  fresh.id = smp::trip;
  fresh.rider = smp::rider;
  fresh.rider_actor = fx.rider_a;
  fresh.pickup = p1;
  fresh.dropoff = p2;
  fresh.quoted =
      schemas::quote{quote_id{7208245990512345}, smp::fare(), "USD", 1200, 240, 6120, 1260, 17};
  fresh.reply_seq = 41;
  fresh.request_in_us = 1765000000123456;
  trip_init back;  // a recovered trip with its matcher and driver looked up
  back.id = trip_id{9};
  back.rider = rider_id{4};
  back.pickup = p2;
  back.dropoff = p1;
  back.recovered = samples(fx, type<group_serve>{}).front().trips.front();
  back.matcher = caf::actor_cast<matcher_handle>(fx.b);
  back.driver = caf::actor_cast<driver_handle>(fx.a);
  return {fresh, back};
}
std::vector<owner_route> samples(fixture& fx, type<owner_route>) {
  return {{7, 3, fx.a}, {2, 1, {}}};
}
std::vector<group_owners> samples(fixture& fx, type<group_owners>) {
  return {{{{0, 2, fx.b}, {5, 3, fx.a}}}, {}};
}
std::vector<handoff_expired> samples(fixture&, type<handoff_expired>) { return {{12}}; }
std::vector<matcher_handle> samples(fixture& fx, type<matcher_handle>) {
  return {caf::actor_cast<matcher_handle>(fx.a), {}};
}
std::vector<trip_handle> samples(fixture& fx, type<trip_handle>) { return {fx.trip_b, {}}; }

// ---- field-by-field comparisons ---------------------------------------------

void same(const neighbor& x, const neighbor& y) {
  CHECK(x.id == y.id);
  CHECK(x.pos == y.pos);
  CHECK(x.distance_m == y.distance_m);
}
void same(const std::vector<neighbor>& x, const std::vector<neighbor>& y) {
  REQUIRE(x.size() == y.size());
  for (std::size_t i = 0; i < x.size(); ++i) same(x[i], y[i]);
}
template <class Tag>
void same(basic_id<Tag> x, basic_id<Tag> y) {
  CHECK(x == y);
}
void same(lat_lng x, lat_lng y) { CHECK(x == y); }
void same(errc x, errc y) { CHECK(x == y); }
// schemas types compare member-wise through their own tie() (schemas/messages.hpp).
void same(const schemas::trip_status& x, const schemas::trip_status& y) { CHECK(x == y); }
void same(const driver_avail& x, const driver_avail& y) {
  CHECK(x.driver == y.driver);
  CHECK(x.pos == y.pos);
  CHECK(x.actor == y.actor);
  CHECK(x.fresh == y.fresh);
  CHECK(x.withdrawn == y.withdrawn);
}
void same(const dispatch_request& x, const dispatch_request& y) {
  CHECK(x.trip == y.trip);
  CHECK(x.pickup == y.pickup);
  CHECK(x.trip_actor == y.trip_actor);
}
void same(const redispatch_request& x, const redispatch_request& y) {
  CHECK(x.trip == y.trip);
  CHECK(x.pickup == y.pickup);
  CHECK(x.trip_actor == y.trip_actor);
  CHECK(x.excluded == y.excluded);
}
void same(const offer_to& x, const offer_to& y) {
  CHECK(x.driver == y.driver);
  CHECK(x.driver_actor == y.driver_actor);
  CHECK(x.pickup_eta_s == y.pickup_eta_s);
  CHECK(x.attempt == y.attempt);
  CHECK(x.surge_permille == y.surge_permille);
}
void same(const offer_timed_out& x, const offer_timed_out& y) {
  CHECK(x.driver == y.driver);
  CHECK(x.offer == y.offer);
}
void same(const offer_closed& x, const offer_closed& y) {
  CHECK(x.trip == y.trip);
  CHECK(x.driver == y.driver);
  CHECK(x.accepted == y.accepted);
  CHECK(x.driver_free == y.driver_free);
}
void same(const trip_finished& x, const trip_finished& y) { CHECK(x.trip == y.trip); }
void same(const trip_update& x, const trip_update& y) {
  CHECK(x.status == y.status);
  CHECK(x.receipt == y.receipt);
  CHECK(x.trip_actor == y.trip_actor);
  CHECK(x.rider_actor == y.rider_actor);
}
void same(const offer_withdrawn& x, const offer_withdrawn& y) {
  CHECK(x.trip == y.trip);
  CHECK(x.shown == y.shown);
  CHECK(x.show == y.show);
}
void same(const shard_key& x, const shard_key& y) { CHECK(x == y); }
void same(const shard_added& x, const shard_added& y) {
  CHECK(x.key == y.key);
  CHECK(x.matcher == y.matcher);
}
void same(const trip_failed& x, const trip_failed& y) {
  CHECK(x.trip == y.trip);
  CHECK(x.code == y.code);
  CHECK(x.message == y.message);
  CHECK(x.seq == y.seq);
}
void same(const position_push& x, const position_push& y) { CHECK(x.wire == y.wire); }
void same(const nearby_query& x, const nearby_query& y) {
  CHECK(x.center == y.center);
  CHECK(x.radius_m == y.radius_m);
  CHECK(x.k == y.k);
}
void same(const nearby_answer& x, const nearby_answer& y) {
  same(x.hits, y.hits);
  CHECK(x.code == y.code);
}
void same(const snapshot_answer& x, const snapshot_answer& y) { CHECK(x.status == y.status); }
void same(const trip_answer& x, const trip_answer& y) {
  CHECK(x.code == y.code);
  CHECK(x.message == y.message);
  CHECK(x.status == y.status);
}
void same(const http_trip_command& x, const http_trip_command& y) {
  CHECK(x.trip == y.trip);
  CHECK(x.kind == y.kind);
  CHECK(x.pin == y.pin);
  CHECK(x.reason == y.reason);
  CHECK(x.answer_to == y.answer_to);
}
void same(const shard_probe& x, const shard_probe& y) {
  REQUIRE(x.queries.size() == y.queries.size());
  for (std::size_t i = 0; i < x.queries.size(); ++i) {
    CHECK(x.queries[i].center == y.queries[i].center);
    CHECK(x.queries[i].radius_m == y.queries[i].radius_m);
    CHECK(x.queries[i].k == y.queries[i].k);
    CHECK(x.queries[i].with_fleet == y.queries[i].with_fleet);
  }
}
void same(const shard_probe_answer& x, const shard_probe_answer& y) {
  REQUIRE(x.hits.size() == y.hits.size());
  for (std::size_t i = 0; i < x.hits.size(); ++i) same(x.hits[i], y.hits[i]);
}
void same(const reserve_answer& x, const reserve_answer& y) {
  CHECK(x.ok == y.ok);
  CHECK(x.pos == y.pos);
  CHECK(x.driver_actor == y.driver_actor);
}
void same(const commit_outcome& x, const commit_outcome& y) {
  CHECK(x.code == y.code);
  CHECK(x.message == y.message);
}

void same(const session_frame& x, const session_frame& y) {
  CHECK(x.session == y.session);
  CHECK(x.body == y.body);
  CHECK(x.reply_seq == y.reply_seq);
}
void same(const session_close& x, const session_close& y) {
  CHECK(x.session == y.session);
  CHECK(x.reason == y.reason);
}
void same(const attach_request& x, const attach_request& y) {
  CHECK(x.session == y.session);
  CHECK(x.seq == y.seq);
  CHECK(x.resume == y.resume);
  CHECK(x.who.subject == y.who.subject);
  CHECK(x.who.role == y.who.role);
}
void same(const trip_command& x, const trip_command& y) {
  CHECK(x.kind == y.kind);
  CHECK(x.by == y.by);
  CHECK(x.driver == y.driver);
  CHECK(x.rider == y.rider);
  CHECK(x.pin == y.pin);
  CHECK(x.reason == y.reason);
  CHECK(x.reply.session == y.reply.session);
  CHECK(x.reply.seq == y.reply.seq);
  CHECK(x.answer_to == y.answer_to);
}
void same(const quote_ask& x, const quote_ask& y) {
  CHECK(x.req == y.req);
  CHECK(x.reply.session == y.reply.session);
  CHECK(x.reply.seq == y.reply.seq);
  CHECK(x.rider_actor == y.rider_actor);
  CHECK(x.rider == y.rider);
}
void same(const quote_answer& x, const quote_answer& y) {
  CHECK(x.wire == y.wire);
  CHECK(x.pickup == y.pickup);
  CHECK(x.dropoff == y.dropoff);
  CHECK(x.reply.session == y.reply.session);
  CHECK(x.reply.seq == y.reply.seq);
}

void same(const client_envelope& x, const client_envelope& y) {
  CHECK(x.session == y.session);
  CHECK(x.msg == y.msg);
  CHECK(x.received_at_us == y.received_at_us);
}
void same(const offer_delivery& x, const offer_delivery& y) {
  CHECK(x.wire == y.wire);
  CHECK(x.trip_actor == y.trip_actor);
  CHECK(x.request_in_us == y.request_in_us);
}
void same(const http_ride& x, const http_ride& y) {
  CHECK(x.req == y.req);
  CHECK(x.answer_to == y.answer_to);
  CHECK(x.received_at_us == y.received_at_us);
}

void same(const fleet_upsert& x, const fleet_upsert& y) {
  REQUIRE(x.samples.size() == y.samples.size());
  for (std::size_t i = 0; i < x.samples.size(); ++i) {
    CHECK(x.samples[i].id == y.samples[i].id);
    CHECK(x.samples[i].pos == y.samples[i].pos);
  }
  CHECK(x.forget == y.forget);
}
void same(const fleet_applied& x, const fleet_applied& y) {
  CHECK(x.accepted == y.accepted);
  CHECK(x.rejected.count == y.rejected.count);
  CHECK(x.rejected.first_code == y.rejected.first_code);
  CHECK(x.rejected.first_why == y.rejected.first_why);
}
void same(const nearby_part& x, const nearby_part& y) { CHECK(x.queries == y.queries); }
void same(const nearby_part_answer& x, const nearby_part_answer& y) {
  CHECK(x.results == y.results);
}
void same(const driver_unavail& x, const driver_unavail& y) { CHECK(x.driver == y.driver); }
void same(const positions_flush& x, const positions_flush& y) { CHECK(x.timed == y.timed); }
void same(const parked_retry&, const parked_retry&) {}  // no fields: the name is the message
void same(const batch_window&, const batch_window&) {}
void same(const reserve_driver& x, const reserve_driver& y) { CHECK(x.driver == y.driver); }
void same(const release_driver& x, const release_driver& y) {
  CHECK(x.driver == y.driver);
  CHECK(x.pos == y.pos);
}
void same(const surge_freeze& x, const surge_freeze& y) { CHECK(x.frozen == y.frozen); }
void same(const search_progress& x, const search_progress& y) { CHECK(x.radius_m == y.radius_m); }
void same(const no_driver_found& x, const no_driver_found& y) { CHECK(x.radius_m == y.radius_m); }
void same(const no_driver_check&, const no_driver_check&) {}
void same(const member_beat& x, const member_beat& y) {
  CHECK(x.node == y.node);
  CHECK(x.address == y.address);
  CHECK(x.version == y.version);
  CHECK(x.started_ms == y.started_ms);
  CHECK(x.peers == y.peers);
  CHECK(x.sessions == y.sessions);
  CHECK(x.directory == y.directory);
  CHECK(x.locations == y.locations);
  CHECK(x.groups_epoch == y.groups_epoch);
  CHECK(x.groups == y.groups);
}
void same(const registry_route& x, const registry_route& y) {
  CHECK(x.node == y.node);
  CHECK(x.registry == y.registry);
}
void same(const groups_served& x, const groups_served& y) {
  CHECK(x.epoch == y.epoch);
  CHECK(x.groups == y.groups);
}
void same(const location_out& x, const location_out& y) {
  CHECK(x.node == y.node);
  CHECK(x.matcher == y.matcher);
  same(x.avail, y.avail);
}
void same(const location_part& x, const location_part& y) {
  CHECK(x.matcher == y.matcher);
  REQUIRE(x.avails.size() == y.avails.size());
  for (std::size_t i = 0; i < x.avails.size(); ++i) same(x.avails[i], y.avails[i]);
}
void same(const location_bundle& x, const location_bundle& y) {
  REQUIRE(x.parts.size() == y.parts.size());
  for (std::size_t i = 0; i < x.parts.size(); ++i) same(x.parts[i], y.parts[i]);
}
void same(const location_flush& x, const location_flush& y) {
  CHECK(x.node == y.node);
  CHECK(x.window == y.window);
}
void same(const relay_route& x, const relay_route& y) {
  CHECK(x.node == y.node);
  CHECK(x.relay == y.relay);
}
void same(const membership_start& x, const membership_start& y) { CHECK(x.address == y.address); }
void same(const membership_tick& x, const membership_tick& y) { CHECK(x.round == y.round); }
void same(const rideshard::trip& a, const rideshard::trip& b) {
  CHECK(a.id == b.id);
  CHECK(a.rider == b.rider);
  CHECK(a.driver == b.driver);
  CHECK(a.state == b.state);
  CHECK(a.pickup == b.pickup);
  CHECK(a.dropoff == b.dropoff);
  CHECK(a.pin == b.pin);
  CHECK(a.sequence == b.sequence);
  CHECK(a.requested_at_ms == b.requested_at_ms);
  CHECK(a.accepted_at_ms == b.accepted_at_ms);
}
void same(const group_serve& x, const group_serve& y) {
  CHECK(x.group == y.group);
  REQUIRE(x.trips.size() == y.trips.size());
  for (std::size_t i = 0; i < x.trips.size(); ++i) same(x.trips[i], y.trips[i]);
}
void same(const group_stop& x, const group_stop& y) {
  CHECK(x.group == y.group);
  CHECK(x.lost == y.lost);
}
void same(const trip_init& x, const trip_init& y) {
  CHECK(x.id == y.id);
  CHECK(x.rider == y.rider);
  CHECK(x.rider_actor == y.rider_actor);
  CHECK(x.pickup == y.pickup);
  CHECK(x.dropoff == y.dropoff);
  REQUIRE(x.quoted.has_value() == y.quoted.has_value());
  if (x.quoted) CHECK(*x.quoted == *y.quoted);
  CHECK(x.reply_seq == y.reply_seq);
  CHECK(x.request_in_us == y.request_in_us);
  REQUIRE(x.recovered.has_value() == y.recovered.has_value());
  if (x.recovered) same(*x.recovered, *y.recovered);
  CHECK(x.matcher == y.matcher);
  CHECK(x.driver == y.driver);
}
void same(const owner_route& x, const owner_route& y) {
  CHECK(x.group == y.group);
  CHECK(x.node == y.node);
  CHECK(x.directory == y.directory);
}
void same(const group_owners& x, const group_owners& y) {
  REQUIRE(x.owners.size() == y.owners.size());
  for (std::size_t i = 0; i < x.owners.size(); ++i) same(x.owners[i], y.owners[i]);
}
void same(const handoff_expired& x, const handoff_expired& y) { CHECK(x.hold == y.hold); }
void same(const matcher_handle& x, const matcher_handle& y) { CHECK(x == y); }
void same(const trip_handle& x, const trip_handle& y) { CHECK(x == y); }

// ---- round trips ------------------------------------------------------------

template <class T>
T value_roundtrip(caf::actor_system& sys, T x) {
  caf::binary_serializer::container_type buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE_FALSE(sink(x));
  T y{};
  caf::binary_deserializer source{sys, buf};
  REQUIRE_FALSE(source(y));
  CHECK(source.remaining() == 0);
  return y;
}

// Through a caf::message, the way BASP carries it: needs the registered name.
template <class T>
T message_roundtrip(caf::actor_system& sys, const T& x) {
  auto msg = caf::make_message(x);
  caf::binary_serializer::container_type buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE_FALSE(sink(msg));
  caf::message back;
  caf::binary_deserializer source{sys, buf};
  REQUIRE_FALSE(source(back));
  REQUIRE(back.match_elements<T>());
  return back.get_as<T>(0);
}

template <class... Ts>
void roundtrip_all(fixture& fx, caf::detail::type_list<Ts...>) {
  auto one = [&fx](auto tag) {
    using T = typename decltype(tag)::t;
    const std::string name = message_type_name<T>();
    CAPTURE(name);
    auto xs = samples(fx, type<T>{});
    REQUIRE_FALSE(xs.empty());
    for (const auto& x : xs) {
      same(x, value_roundtrip(fx.sys, x));
      same(x, message_roundtrip(fx.sys, x));
    }
  };
  (one(type<Ts>{}), ...);
}

template <class... Ts>
std::vector<std::string> registered_names(caf::detail::type_list<Ts...>) {
  return {message_type_name<Ts>()...};
}

}  // namespace

TEST_CASE("every registered node message type round-trips through the binary serializer") {
  fixture fx;
  roundtrip_all(fx, node_message_types{});
}

TEST_CASE("registered names are unique and known to the actor system") {
  fixture fx;
  auto names = registered_names(node_message_types{});
  auto sorted = names;
  std::sort(sorted.begin(), sorted.end());
  CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
  for (const auto& n : names) {
    CAPTURE(n);
    CHECK(fx.sys.types().make_value(n) != nullptr);
  }
}

TEST_CASE("every wire message kind round-trips (the bodies sessions will carry)") {
  fixture fx;
  for (const auto& m : smp::client_messages()) {
    CAPTURE(schemas::kind_name(m.body));
    CHECK(value_roundtrip(fx.sys, m) == m);
  }
  for (const auto& m : smp::server_messages()) {
    CAPTURE(schemas::kind_name(m.body));
    CHECK(value_roundtrip(fx.sys, m) == m);
  }
}

TEST_CASE("a truncated message is refused, not half-read") {
  fixture fx;
  auto m = smp::server_messages().front();
  caf::binary_serializer::container_type buf;
  caf::binary_serializer sink{fx.sys, buf};
  REQUIRE_FALSE(sink(m));
  buf.resize(buf.size() / 2);
  schemas::server_message back;
  caf::binary_deserializer source{fx.sys, buf};
  CHECK(source(back));
}

TEST_CASE("an unknown variant alternative is an error") {
  fixture fx;
  schemas::client_message m{1, schemas::ping{7}};
  caf::binary_serializer::container_type buf;
  caf::binary_serializer sink{fx.sys, buf};
  REQUIRE_FALSE(sink(m));
  buf[sizeof(std::uint64_t)] = 100;  // the alternative index follows the seq
  schemas::client_message back;
  caf::binary_deserializer source{fx.sys, buf};
  CHECK(source(back));
}
