// The console's switches: POST /api/admin/regions/{name}/pause-dispatch,
// resume-dispatch, freeze-surge, unfreeze-surge, and the node's own POST
// /api/admin/cluster/drain (hand its shard groups to the other nodes without
// exiting: it keeps its sessions, a gateway owning no group) and .../rejoin
// (admin; a cookie session needs the CSRF token; each one is written to the
// audit log like every admin POST). A region switch is restored at start from
// the audit log, so its entry is written before the switch moves: no entry, no
// change (500 storage_error).
#include <algorithm>

#include "api/detail/api_state.hpp"

namespace rideshard::api::detail {

namespace {

json switches_json(const node::region_switches& s) {
  return json{{"region", s.region},
              {"dispatch_paused", s.dispatch_paused},
              {"surge_frozen", s.surge_frozen}};
}

enum class region_switch { dispatch, surge };

void flip(const api_state& st, const gateway::http_request& req, std::string_view region,
          exchange& ex, region_switch which, bool on) {
  if (!require_admin(st, req, ex)) return;
  const auto& regions = st.node.regions();
  if (std::none_of(regions.begin(), regions.end(), [&](const auto& r) { return r.name == region; }))
    return ex.fail(error{errc::out_of_region, "no region named '" + std::string(region) + "'"});
  // The log first: a switch it does not hold would not survive a restart.
  if (auto logged = ex.audit_ahead(200); !logged)
    return ex.fail(error{errc::storage_error,
                         "the audit log could not be written, so the switch was not changed: " +
                             logged.err().message});
  auto done = which == region_switch::dispatch ? st.node.pause_dispatch(region, on)
                                               : st.node.freeze_surge(region, on);
  if (!done) return ex.fail(done.err());  // out_of_region: no region of that name
  ex.reply(200, switches_json(*done));
}

}  // namespace

void post_region_pause_dispatch(const api_state& st, const gateway::http_request& req,
                                std::string_view region, exchange& ex) {
  flip(st, req, region, ex, region_switch::dispatch, true);
}

void post_region_resume_dispatch(const api_state& st, const gateway::http_request& req,
                                 std::string_view region, exchange& ex) {
  flip(st, req, region, ex, region_switch::dispatch, false);
}

void post_region_freeze_surge(const api_state& st, const gateway::http_request& req,
                              std::string_view region, exchange& ex) {
  flip(st, req, region, ex, region_switch::surge, true);
}

void post_region_unfreeze_surge(const api_state& st, const gateway::http_request& req,
                                std::string_view region, exchange& ex) {
  flip(st, req, region, ex, region_switch::surge, false);
}

namespace {

json drain_json(const api_state& st) {
  const auto v = st.node.cluster();
  return json{{"node", st.opts.node_id},
              {"drain", st.node.drain_phase()},
              {"served_groups", v.served_groups}};
}

}  // namespace

void post_cluster_drain(const api_state& st, const gateway::http_request& req, std::string_view,
                        exchange& ex) {
  if (!require_admin(st, req, ex)) return;
  // unavailable: no shard ownership here; illegal_transition: draining already.
  if (auto ok = st.node.start_drain(st.opts.cluster_drain_timeout); !ok) return ex.fail(ok.err());
  ex.reply(202, drain_json(st));  // the handoff goes on; /health checks.cluster.drain follows it
}

void post_cluster_rejoin(const api_state& st, const gateway::http_request& req, std::string_view,
                         exchange& ex) {
  if (!require_admin(st, req, ex)) return;
  if (auto ok = st.node.rejoin(); !ok) return ex.fail(ok.err());
  ex.reply(200, drain_json(st));
}

}  // namespace rideshard::api::detail
