// The admin console's read endpoints (admins only): GET /api/admin/overview
// (node, shards, dispatch, outbox), /api/admin/fleet (the live map, compact),
// /api/admin/feed (both, one tick of the /v1/console WebSocket feed),
// /api/admin/trips/{id} (timeline from the journal) and /api/admin/drivers/{id}.
#include <cmath>

#include "api/detail/api_state.hpp"
#include "auth/subject.hpp"

namespace rideshard::api::detail {

namespace {

// Degrees as integers of 1e-5 (about a metre): the fleet answer stays small.
std::int64_t e5(double deg) { return std::llround(deg * 1e5); }

// Who moved a trip into the state its record shows.
std::string actor_of(const rideshard::trip& t, const rideshard::trip* before) {
  switch (t.state) {
    case trip_state::requested:
      return before ? "system" : to_string(t.rider);  // first request, or a re-dispatch
    case trip_state::accepted:
    case trip_state::driver_arrived:
    case trip_state::in_progress:
    case trip_state::completed:
      return to_string(t.driver);
    case trip_state::cancelled:
      return t.cancelled_by == party::rider    ? to_string(t.rider)
             : t.cancelled_by == party::driver ? to_string(before ? before->driver : t.driver)
                                               : std::string("system");
    default:
      return "system";  // offered, expired
  }
}

// When the record's state began, from the field that state sets.
std::int64_t at_of(const rideshard::trip& t) {
  switch (t.state) {
    case trip_state::requested:
      return t.requested_at_ms;
    case trip_state::offered:
      return t.offer_deadline_ms;  // the offer's deadline (its start is not recorded)
    case trip_state::accepted:
      return t.accepted_at_ms;
    case trip_state::driver_arrived:
      return t.arrived_at_ms;
    case trip_state::in_progress:
      return t.started_at_ms;
    default:
      return t.ended_at_ms;
  }
}

json timeline_json(const std::vector<rideshard::trip>& steps) {
  json out = json::array();
  const rideshard::trip* before = nullptr;
  for (const auto& t : steps) {
    json e{{"state", to_string(t.state)},
           {"at_ms", at_of(t)},
           {"actor", actor_of(t, before)},
           {"sequence", t.sequence}};
    if (t.state == trip_state::offered)
      e["note"] = "offered to " + to_string(t.offered_to) + ", answer by this time";
    if (t.state == trip_state::requested && before)
      e["note"] = "back to dispatch (offer declined, timed out or driver backed out)";
    if (t.state == trip_state::cancelled && !t.cancel_reason.empty()) e["note"] = t.cancel_reason;
    out.push_back(std::move(e));
    before = &t;
  }
  return out;
}

// The console's overview panels (node, regions, shards, dispatch, outbox).
template <class Fleet>
json overview_json(const api_state& st, const Fleet& fleet) {
  const json health = health_body(st);
  const auto shards = st.node.shards(fleet);
  json node{{"id", st.opts.node_id},
            {"status", health["status"]},
            {"version", st.opts.version},
            {"uptime_s", health["uptime_seconds"]},
            {"heartbeat_age_ms", 0},  // single node: it is answering this request
            {"shards", shards.size()},
            {"live_entities", st.node.live_entities()},
            {"connections",
             {{"driver", st.stats.connections(gateway::endpoint::driver)},
              {"rider", st.stats.connections(gateway::endpoint::rider)},
              {"admin", st.stats.connections(gateway::endpoint::admin)}}}};
  // The other cluster members (none on a single node): the console's Cluster rows after this one.
  const auto view = st.node.cluster();
  json peers = json::array();
  for (const auto& m : view.members)
    if (!m.self) peers.push_back(member_json(m));
  if (view.enabled && !view.members.empty()) {
    node["address"] = view.members.front().address;
    node["shard_groups"] = view.members.front().shard_groups;
  }
  // Shard ownership: the Cluster panel's drain / rejoin of this node.
  node["shard_ownership"] = view.shard_groups > 0;
  node["drain"] = st.node.drain_phase();
  json regions = json::array();
  const auto switches = st.node.switches();  // same order as regions()
  for (std::size_t i = 0; i < st.node.regions().size(); ++i) {
    const auto& r = st.node.regions()[i];
    regions.push_back(json{{"name", r.name},
                           {"dispatch_paused", switches[i].dispatch_paused},
                           {"surge_frozen", switches[i].surge_frozen},
                           {"south", r.bounds.south_west.lat},
                           {"west", r.bounds.south_west.lng},
                           {"north", r.bounds.north_east.lat},
                           {"east", r.bounds.north_east.lng},
                           {"shard_level", r.shard_level}});
  }
  json shard_rows = json::array();
  for (const auto& s : shards)
    shard_rows.push_back(json{{"shard", s.region + " " + std::to_string(s.cell.value)},
                              {"region", s.region},
                              {"center", point_json(s.center)},
                              {"drivers", s.drivers},
                              {"available", s.available},
                              {"active_trips", s.active_trips},
                              {"surge_permille", s.surge_permille}});
  const double p99 = st.stats.request_to_offer_quantile(0.99);
  json dispatch{{"queue_depth", st.stats.queue_depth("matcher_pending")},
                {"request_to_offer_p99_ms",
                 p99 < 0 || !std::isfinite(p99) ? json(nullptr) : json(std::lround(p99 * 1000))}};
  json outbox = health["checks"]["outbox"];
  if (st.opts.outbox) {
    const auto o = st.opts.outbox();
    outbox["events_total"] = o.events_total;
    outbox["events_by_topic"] = o.events_by_topic;  // since start; the console shows rates
    outbox["dropped"] = o.dropped;
  }
  return json{{"node", std::move(node)},         {"peers", std::move(peers)},
              {"regions", std::move(regions)},   {"shards", std::move(shard_rows)},
              {"dispatch", std::move(dispatch)}, {"outbox", std::move(outbox)}};
}

// The live map, compact.
template <class Fleet>
json fleet_json(const api_state& st, const Fleet& f) {
  // Flat arrays (the console reads them in strides): drivers [lat, lng, look],
  // trips [pickup lat, lng, drop-off lat, lng, state], surge [lat, lng, level,
  // permille], coordinates in 1e-5 degrees.
  std::vector<std::int64_t> drivers;
  drivers.reserve(f.drivers.size() * 3);
  for (const auto& d : f.drivers) {
    drivers.push_back(e5(d.pos.lat));
    drivers.push_back(e5(d.pos.lng));
    drivers.push_back(static_cast<std::int64_t>(d.look));
  }
  std::vector<std::int64_t> trips;
  trips.reserve(f.trips.size() * 5);
  for (const auto& t : f.trips) {
    for (double v : {t.pickup.lat, t.pickup.lng, t.dropoff.lat, t.dropoff.lng})
      trips.push_back(e5(v));
    trips.push_back(static_cast<std::int64_t>(t.state));
  }
  std::vector<std::int64_t> surge;
  for (const auto& c : f.surge) {
    const auto center = cell_center(c.cell);
    for (std::int64_t v :
         {e5(center.lat), e5(center.lng), static_cast<std::int64_t>(cell_level(c.cell)),
          static_cast<std::int64_t>(c.surge_permille)})
      surge.push_back(v);
  }
  return json{{"at_ms", st.opts.now_ms()},
              {"drivers", std::move(drivers)},
              {"trips", std::move(trips)},
              {"surge", std::move(surge)}};
}

}  // namespace

void get_admin_overview(const api_state& st, const gateway::http_request& req, std::string_view,
                        exchange& ex) {
  if (!require_admin(st, req, ex)) return;
  ex.reply(200, overview_json(st, st.node.fleet()));
}

void get_admin_fleet(const api_state& st, const gateway::http_request& req, std::string_view,
                     exchange& ex) {
  if (!require_admin(st, req, ex)) return;
  ex.reply(200, fleet_json(st, st.node.fleet()));
}

// One tick of the console's live feed (/v1/console pushes this answer): the
// overview and the map from one fleet snapshot.
void get_admin_feed(const api_state& st, const gateway::http_request& req, std::string_view,
                    exchange& ex) {
  if (!require_admin(st, req, ex)) return;
  const auto fleet = st.node.fleet();
  ex.reply(200, json{{"overview", overview_json(st, fleet)}, {"fleet", fleet_json(st, fleet)}});
}

void get_admin_trip(const api_state& st, const gateway::http_request& req, std::string_view id,
                    exchange& ex) {
  if (!require_admin(st, req, ex)) return;
  auto tid = parse_trip_id(id);
  if (!tid) return ex.fail(tid.err());
  auto s = st.node.trip_snapshot(*tid);
  if (!s) return ex.fail(s.err());
  json out = trip_json(*s, false);
  auto steps = st.node.trip_journal(*tid);
  if (steps) {
    out["timeline"] = timeline_json(*steps);
    const auto& last = steps->back();
    // Upfront price when quoted; a cancellation's fee; metered fares are on the receipt.
    if (last.state == trip_state::cancelled)
      out["fare_minor"] = last.cancel_fee_minor;
    else if (last.quoted_fare_minor > 0)
      out["fare_minor"] = last.quoted_fare_minor;
    else
      out["fare_minor"] = nullptr;
    out["surge_permille"] = last.surge_permille;
    for (const auto& r : st.node.regions())
      if (r.bounds.contains(last.pickup)) out["currency"] = r.fare.currency;
  } else {
    out["timeline"] = json::array();
    out["timeline_error"] = to_string(steps.code());
  }
  ex.reply(200, out);
}

void get_admin_driver(const api_state& st, const gateway::http_request& req, std::string_view id,
                      exchange& ex) {
  if (!require_admin(st, req, ex)) return;
  auto did = auth::parse_driver_subject(id);
  if (!did) return ex.fail(error{errc::invalid_argument, "not a driver id: " + std::string(id)});
  json out{{"id", to_string(*did)}, {"account", nullptr}, {"live", nullptr}};
  if (auto u = st.users.get(id)) out["account"] = user_json(*u);
  static const char* const looks[] = {"offline", "available", "offered", "en_route", "on_trip"};
  for (const auto& d : st.node.fleet().drivers)
    if (d.id == *did)
      out["live"] = json{{"state", looks[static_cast<int>(d.look)]},
                         {"lat", d.pos.lat},
                         {"lng", d.pos.lng},
                         {"updated_ms", d.updated_ms}};
  json recent = json::array();
  node::history_query q;
  q.driver = *did;
  q.limit = 10;
  if (auto trips = st.node.trip_history(q))
    for (const auto& s : *trips) recent.push_back(trip_json(s, false));
  out["recent_trips"] = std::move(recent);
  if (out["account"].is_null() && out["live"].is_null() && out["recent_trips"].empty())
    return ex.fail(error{errc::unknown_driver, "no driver " + std::string(id) + " here"});
  ex.reply(200, out);
}

}  // namespace rideshard::api::detail
