// The node facade: owns the actor system, maps gateway connections to entity
// actors after `hello` and routes every client message. No CAF type in here.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/handlers.hpp"
#include "gateway/metrics.hpp"
#include "node/cluster_options.hpp"
#include "node/fleet_view.hpp"
#include "rideshard/engine/region.hpp"
#include "rideshard/engine/result.hpp"
#include "rideshard/engine/ride_money.hpp"
#include "rideshard/engine/spatial_index.hpp"
#include "rideshard/engine/trip.hpp"
#include "rideshard/persistence/store.hpp"
#include "rideshard/schemas/messages.hpp"

namespace rideshard::node {

/// Who a verified token speaks for: subject "d-7" (driver) or "r-42" (rider).
struct identity {
  std::string subject;
  schemas::role role = schemas::role::rider;
};

/// Verifies a hello token (auth lives elsewhere); called on the gateway thread.
using token_verifier = std::function<result<identity>(const std::string& token)>;

struct dispatch_options {
  std::uint16_t node_id = 1;  ///< id_generator node (0..1023)
  /// Unix milliseconds; injected so tests control timestamps and fees.
  std::function<std::int64_t()> now_ms;  ///< default: system_clock
  /// Real time a driver has to answer an offer; <= 0 uses the region's matching config.
  std::chrono::milliseconds offer_timeout{0};
  /// Entities with no trip and no connection stop after this long idle.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(10)};
  /// A request whose search (or batch window) found no driver within its
  /// region's max_radius_m gives up after this long without one (measured on
  /// now_ms from the first such search since its last offer; a driver freed
  /// meanwhile is still offered the ride): the rider hears the trip cancelled
  /// by the system, reason no_driver_available, instead of waiting for the
  /// request's TTL. <= 0: requests wait for their TTL. `rideshard serve`:
  /// [matching] no_driver_timeout_ms.
  std::chrono::milliseconds no_driver_timeout{std::chrono::seconds(20)};
  /// Real time between two checks of no_driver_timeout while requests are
  /// parked (the timeout itself is measured on now_ms).
  std::chrono::milliseconds no_driver_check{std::chrono::seconds(1)};
  /// Samples more than this ahead of now_ms are future_timestamp.
  std::int64_t max_future_skew_ms = 5000;
  /// Speeds above this between two samples are impossible_jump.
  double max_speed_mps = 70.0;
  /// Called (on the driver's actor thread) once per location frame with a
  /// sample refused as an impossible_jump, with the driver who sent it: the
  /// fraud desk's GPS signal (`rideshard serve`). Must be quick. Empty: none.
  std::function<void(driver_id)> on_impossible_jump;
  /// Scheduler threads of the actor system (0: CAF default).
  std::size_t worker_threads = 2;
  /// Called (on an actor thread) with the subject of each passivated entity,
  /// e.g. "d-7"; for metrics and tests. Must not block.
  std::function<void(const std::string& subject)> on_passivated;
  /// Bound on how long the synchronous query API waits.
  std::chrono::milliseconds query_timeout{std::chrono::seconds(2)};
  /// Where the node reports errors, trips by state, offers and request->offer
  /// latency (see node_stats.hpp); not owned, must outlive the node. nullptr: none.
  gateway::metrics* stats = nullptr;
  /// Durable node: every trip transition is committed here (synced) before any
  /// client hears of it, and create() recovers active trips from it. Not owned,
  /// must outlive the node. nullptr: in-memory node (tests, benchmarks).
  persistence::store* store = nullptr;
  /// Durable node only: each driver's accepted location samples go to the
  /// outbox (rideshard.driver-locations.v1) at most once per this many
  /// milliseconds of server time (docs/events.md). <= 0: none (the default
  /// here; `rideshard serve` uses [kafka].location_sample_s, default 30 s).
  std::int64_t location_sample_ms = 0;
  /// Location batching (see node/README.md): an available driver's new
  /// position waits at most this long in its shard's buffer before the matcher
  /// applies every buffered one in one index batch (anything that reads the
  /// index flushes first). <= 0: flush right away.
  std::chrono::milliseconds location_flush{25};
  /// Per shard: drivers whose position may wait in the buffer; a further
  /// driver's position is dropped (its next frame retries). Withdrawals always fit.
  std::size_t location_buffer_max = 65536;
  /// How a ride's money is split at capture (commission, tax) and how long its
  /// hold lasts; `rideshard serve` takes it from [payments].
  money_rules money;
  /// [cluster]: when enabled, the node loads CAF's middleman with mutual TLS,
  /// publishes its membership actor on the BASP port and tracks its peers
  /// (membership.hpp). Shards stay all local. Disabled: no middleman, no port.
  cluster_options cluster;
};

/// What create() found in the store.
struct recovery_report {
  std::size_t trips_read = 0;     ///< snapshots decoded
  std::size_t trips_revived = 0;  ///< active trips whose actors were respawned
  std::size_t unreadable = 0;     ///< snapshots that failed to decode (logged, skipped)
};

/// A trip transition asked for over HTTP (PUT /api/trips/{id}/status).
struct trip_change {
  trip_id trip;
  trip_event_kind kind = trip_event_kind::cancel;  ///< arrive, start, complete or cancel
  std::string pin;                                 ///< start only
  std::string reason;                              ///< cancel only
};

/// Which stored trips trip_history() returns: exactly one of rider / driver set.
struct history_query {
  rider_id rider;
  driver_id driver;
  std::size_t limit = 20;  ///< newest first; 1..history_max_limit
};
inline constexpr std::size_t history_max_limit = 100;
/// What erasure leaves of a trip's places: degrees rounded to this grid
/// (0.01 degree: about 1.1 km north-south, less east-west).
inline constexpr double erased_location_step_deg = 0.01;

/// One shard as the admin console lists it: counts from a fleet snapshot.
struct shard_summary {
  std::string region;
  cell_id cell;                        ///< the shard cell (geo.hpp grid, the region's shard_level)
  lat_lng center;                      ///< of the cell
  std::size_t drivers = 0;             ///< on the map in this cell (any state)
  std::size_t available = 0;           ///< of which available
  std::size_t active_trips = 0;        ///< non-terminal trips whose pickup is in this cell
  std::int32_t surge_permille = 1000;  ///< highest surge seen in the cell's surge cells
};

/// An admin's switches of one region (POST /api/admin/regions/{name}/...).
struct region_switches {
  std::string region;
  bool dispatch_paused = false;  ///< new ride requests refused with dispatch_paused
  bool surge_frozen = false;     ///< every surge multiplier held at its value when frozen
};

/// What a drain of this node's shard groups did (dispatch_node::drain_groups).
struct drain_report {
  std::vector<int> groups;   ///< the shard groups served here when the drain began
  bool handed_off = false;   ///< each of them owned by another node that is up, in time
  std::int64_t took_ms = 0;  ///< from the start until handed off (or the timeout)
};

/// The dispatch node of one process. Thread-safe: the ws_handler methods are
/// called from gateway I/O threads and never block (they enqueue to actors);
/// the query methods block the caller up to options.query_timeout.
class dispatch_node final : public gateway::ws_handler {
 public:
  /// Errors: bad_config (no regions, invalid region parameters, a cluster port
  /// that cannot be bound), cluster_tls_required / cluster_tls_invalid
  /// (opts.cluster enabled without usable certificate, key and CA).
  [[nodiscard]] static result<std::unique_ptr<dispatch_node>> create(std::vector<region> regions,
                                                                     dispatch_options opts,
                                                                     token_verifier verify);
  ~dispatch_node() override;
  dispatch_node(const dispatch_node&) = delete;
  dispatch_node& operator=(const dispatch_node&) = delete;

  void on_open(const gateway::connection_ptr& c) override;
  void on_message(const gateway::connection_ptr& c, schemas::client_message msg) override;
  void on_close(const gateway::connection_ptr& c) override;

  // ---- synchronous queries (HTTP layer); block up to query_timeout ----

  /// Available drivers near a point, nearest first (the shard containing it).
  [[nodiscard]] result<std::vector<neighbor>> nearby(double lat, double lng, double radius_m,
                                                     std::size_t k);
  /// A trip as its rider sees it (pin included); finished trips whose actor has
  /// stopped are read from the store. Errors: unknown_trip, unavailable, storage_error.
  [[nodiscard]] result<schemas::trip_status> trip_snapshot(trip_id id);
  /// Creates a ride for `rider` exactly like the WebSocket ride_request (the
  /// rider actor enforces one active trip) and answers once `requested` is
  /// durable. Errors: illegal_transition (an active trip already), invalid_coordinate,
  /// out_of_region, invalid_argument (unknown quote), storage_error, unavailable (timeout).
  [[nodiscard]] result<schemas::trip_status> request_ride(rider_id rider,
                                                          const schemas::ride_request& r);
  /// Applies `c` for `who` through the actor the WebSocket path uses: a driver's
  /// own driver actor (only its assigned trip), a rider's actor (cancel of its
  /// own trip), or, for an admin, the trip actor directly (cancel only, as
  /// party::system with reason "admin <subject>: <reason>"). Answers once the
  /// transition is durable, with the rider's view (pin included; callers filter).
  /// Errors: forbidden, unknown_trip, illegal_transition, wrong_pin,
  /// storage_error, unavailable (timeout).
  [[nodiscard]] result<schemas::trip_status> change_trip(const identity& who, const trip_change& c);
  /// Ends a trip that has not started yet as the system, with `reason` as its
  /// cancel_reason (the ride charger: "payment_declined" when the PSP refused the
  /// hold's authorization). A system cancel is free, so the ride's ledger hold is
  /// voided in the same batch; rider and driver hear of it like any cancel.
  /// Errors: unknown_trip, illegal_transition (ended, or already in progress),
  /// storage_error, unavailable (timeout).
  [[nodiscard]] result<schemas::trip_status> end_trip(trip_id id, const std::string& reason);
  /// Stored trips (finished and active) of one rider or driver, newest first.
  /// Reads every trip snapshot in the store (O(all trips): no per-party index
  /// yet) on the calling thread. Errors: unavailable (in-memory node, no
  /// store), invalid_argument, storage_error.
  [[nodiscard]] result<std::vector<schemas::trip_status>> trip_history(const history_query& q);
  /// GDPR erasure: rounds the pickup and dropoff of every stored trip of one
  /// rider or driver to erased_location_step_deg (snapshot and each journal
  /// entry, one synced batch); fares, times and ids stay (legal retention).
  /// Refuses while one of them has not ended (its actor would write the exact
  /// places again). Returns how many trips were rewritten; idempotent.
  /// Errors: illegal_transition (a trip not ended), unavailable (in-memory
  /// node: nothing stored), invalid_argument, storage_error.
  [[nodiscard]] result<std::size_t> coarsen_trip_locations(const history_query& q);
  /// Every transition of a trip as committed, oldest first: the trip record
  /// after each step (journal), starting with `requested`. Reads the store on
  /// the calling thread. Errors: unavailable (in-memory node), unknown_trip,
  /// storage_error.
  [[nodiscard]] result<std::vector<rideshard::trip>> trip_journal(trip_id id) const;
  /// The admin console's picture: connected drivers, active trips, surge cells
  /// (see fleet_view.hpp). Never blocks on an actor; copies under short locks.
  fleet_snapshot fleet() const;
  /// Each shard that has a matcher, with counts from `f`.
  std::vector<shard_summary> shards(const fleet_snapshot& f) const;
  const std::vector<region>& regions() const;
  /// Every region's switches, in config order.
  std::vector<region_switches> switches() const;
  /// Pauses (or resumes) new dispatch in `region`: from now on a ride request
  /// whose pickup lies there is refused with dispatch_paused (WebSocket
  /// error_reply, HTTP 503) before any actor sees it; trips already requested
  /// go on. Errors: out_of_region (no region of that name).
  [[nodiscard]] result<region_switches> pause_dispatch(std::string_view region, bool paused);
  /// Freezes (or unfreezes) surge in `region`: every matcher of the region holds
  /// each surge cell's multiplier at its current value (quotes and dispatch see
  /// it) until unfrozen. Errors: out_of_region.
  [[nodiscard]] result<region_switches> freeze_surge(std::string_view region, bool frozen);
  /// The cluster's members as this node last saw them (this node first, with
  /// `version` and uptime since create()); one row when not clustered. Never
  /// blocks on an actor (reads what the membership actor published).
  cluster_view cluster() const;
  /// Cluster: this node now serves exactly `groups` (shard groups) as assigned
  /// in `epoch` (the consumer group's generation; it must grow with each
  /// assignment). The membership actor announces it to every peer; each node
  /// resolves the claims into its owner table (newest epoch wins a group),
  /// shown per member by cluster(). No effect on a single node.
  void serve_groups(std::uint64_t epoch, std::vector<std::uint32_t> groups);
  /// Cluster with shard ownership: hands this node's shard groups to the other
  /// nodes, in phases (each logged, event=drain_phase, and counted in
  /// rideshard_cluster_drain_phases_total{phase}): `handing_off` (/health says
  /// draining) — leaves the consumer group, so no new work is taken for any
  /// group here: each group stops after its commit in flight (a command that
  /// reaches one of its trips later is refused, unavailable or fenced) and gets
  /// its changelog mark; the survivors are assigned the groups and restore them
  /// — then waits until this node's owner table shows every former group owned
  /// by another node that is up: `handed_off`, or `timed_out` after `timeout`.
  /// Sessions stay open (the caller closes them: apps reconnect elsewhere).
  /// Without shard ownership: nothing to hand off (empty report, handed_off).
  /// Blocks the caller; not from an actor. A second call reports no groups.
  drain_report drain_groups(std::chrono::milliseconds timeout);
  /// The drain's phase: "" (not draining), "handing_off", "handed_off" or
  /// "timed_out" (/health checks.cluster.drain).
  std::string drain_phase() const;
  /// An admin's drain (POST /api/admin/cluster/drain): drain_groups(timeout) on
  /// a thread of the node; returns at once. The node keeps its sessions and
  /// serves them as a gateway owning no shard group. Errors: unavailable (no
  /// shard ownership here), illegal_transition (drained or draining already).
  [[nodiscard]] result<void> start_drain(std::chrono::milliseconds timeout);
  /// Undoes a drain (POST /api/admin/cluster/rejoin): this node joins the
  /// shard ownership group again and the groups rebalance over every node
  /// (phase "rejoined" counted, drain_phase() "" again). Errors: unavailable
  /// (no shard ownership), illegal_transition (not drained, or still handing
  /// off), and those of joining the consumer group.
  [[nodiscard]] result<void> rejoin();
  /// Number of live entity actors (drivers, riders, trips), for tests and metrics.
  std::size_t live_entities() const;
  /// What start-up recovery did (all zero for an in-memory node).
  recovery_report recovery() const;

 private:
  struct impl;
  explicit dispatch_node(std::unique_ptr<impl> p);
  [[nodiscard]] result<schemas::trip_status> cancel_as_system(trip_id id, std::string reason);
  std::unique_ptr<impl> impl_;
};

}  // namespace rideshard::node
