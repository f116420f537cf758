// node_payments: [payments] config, the vault key policy and the payment
// service's start-up (vault, PSP, reconcile).
#include "app/node_payments.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <mutex>

namespace rideshard::app {

result<payments_config> read_payments_config(
    const toml::table& doc, const std::string& data_dir,
    const std::function<std::string(const std::string&)>& path) {
  const auto p = doc["payments"];
  payments_config c;
  c.psp = p["psp"].value_or(c.psp);
  if (c.psp != "sandbox" && c.psp != "stripe")
    return error{errc::bad_config, "[payments] psp must be \"sandbox\" or \"stripe\""};
  c.vault_dir = path(p["vault_dir"].value_or(std::string()));
  if (c.vault_dir.empty()) c.vault_dir = data_dir + "/vault";
  c.currency = p["currency"].value_or(c.currency);
  c.stripe_host = p["stripe_host"].value_or(c.stripe_host);
  c.stripe_port = static_cast<std::uint16_t>(p["stripe_port"].value_or(int{c.stripe_port}));
  c.stripe_timeout_ms = p["stripe_timeout_ms"].value_or(c.stripe_timeout_ms);
  c.tax_permille = p["tax_permille"].value_or(c.tax_permille);
  c.commission_permille = p["commission_permille"].value_or(c.commission_permille);
  c.require_payment_method = p["require_payment_method"].value_or(false);
  const auto s = p["sandbox"];
  c.sandbox.seed = s["seed"].value_or(std::int64_t{1});
  c.sandbox.decline = s["decline"].value_or(0.0);
  c.sandbox.timeout = s["timeout"].value_or(0.0);
  c.sandbox.server_error = s["server_error"].value_or(0.0);
  c.sandbox.duplicate_callback = s["duplicate_callback"].value_or(0.0);
  c.sandbox.late_callback = s["late_callback"].value_or(0.0);
  c.sandbox_journal = path(s["journal"].value_or(std::string()));
  if (c.sandbox_journal.empty()) c.sandbox_journal = data_dir + "/sandbox-psp.journal";
  for (double r : {c.sandbox.decline, c.sandbox.timeout, c.sandbox.server_error,
                   c.sandbox.duplicate_callback, c.sandbox.late_callback})
    if (r < 0 || r > 1)
      return error{errc::bad_config, "[payments.sandbox] rates must be in [0, 1]"};
  return c;
}

result<persistence::vault_key> load_vault_key(bool dev) {
  const char* env = std::getenv(vault_key_env);
  if (env == nullptr || *env == '\0') {
    if (!dev)
      return error{errc::bad_config,
                   std::string(vault_key_env) +
                       " is not set: the card vault needs a 256-bit key (64 hex characters, "
                       "e.g. `openssl rand -hex 32`); --dev runs with the public development key"};
    std::fprintf(stderr,
                 "rideshard serve: WARNING: --dev: %s is not set; the card vault uses the PUBLIC "
                 "DEVELOPMENT key. Never store real cards.\n",
                 vault_key_env);
    return persistence::parse_vault_key(development_vault_key);
  }
  if (std::string_view(env) == development_vault_key && !dev)
    return error{errc::bad_config,
                 std::string(vault_key_env) + " is the public development key; use --dev for that"};
  auto key = persistence::parse_vault_key(env);
  if (!key) return error{errc::bad_config, std::string(vault_key_env) + ": " + key.err().message};
  return key;
}

namespace {

// The desk with its metric (rideshard_fraud_decisions_total{rule,decision}) and
// its log line per decision (pseudonymous ids and counts only).
result<std::unique_ptr<payments::fraud_desk>> open_fraud_desk(
    persistence::store& store, std::function<std::uint64_t()> next_id,
    std::function<std::int64_t()> now_ms, gateway::metrics& stats) {
  auto& family = prometheus::BuildCounter()
                     .Name("rideshard_fraud_decisions_total")
                     .Help("Fraud rule evaluations by rule and decision (allow, flag)")
                     .Register(stats.registry());
  payments::fraud_options fo;
  fo.now_ms = std::move(now_ms);
  fo.next_id = std::move(next_id);
  fo.observe = [&family](const fraud_decision& d) {
    family
        .Add({{"rule", std::string(to_string(d.rule))}, {"decision", d.flagged ? "flag" : "allow"}})
        .Increment();
  };
  fo.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  return payments::fraud_desk::open(store, std::move(fo));
}

// What rides move, from the trip-domain transfers of each committed batch
// (engine/trip_money.hpp): rideshard_ride_money_minor_total{purpose} and
// rideshard_rides_paid_total (captures).
std::function<void(const persistence::write_batch&)> ride_money_counter(gateway::metrics& stats) {
  auto& money = prometheus::BuildCounter()
                    .Name("rideshard_ride_money_minor_total")
                    .Help("Money moved by trips in the ledger, by purpose, in minor units")
                    .Register(stats.registry());
  auto& rides = prometheus::BuildCounter()
                    .Name("rideshard_rides_paid_total")
                    .Help("Completed trips whose fare was captured in the ledger")
                    .Register(stats.registry())
                    .Add({});
  static constexpr const char* purposes[] = {
      "",    "hold",    "capture",    "extra_charge", "driver_share",     "commission",
      "tax", "release", "cancel_fee", "refund",       "fee_driver_share", "fee_commission"};
  return [&money, &rides](const persistence::write_batch& b) {
    for (const auto& chain : b.transfer_chains())
      for (const auto& t : chain) {
        const auto domain = (t.id.lo >> 16) & 0xffff;
        const auto code = t.code;
        if (domain != static_cast<std::uint64_t>(money_domain::trip) || code == 0 ||
            code >= std::size(purposes))
          continue;
        money.Add({{"purpose", purposes[code]}}).Increment(static_cast<double>(t.amount));
        if (code == static_cast<std::uint16_t>(money_code::capture)) rides.Increment();
      }
  };
}

// The ride charger's metrics: rideshard_ride_psp_steps_total{step,outcome},
// rideshard_ride_psp_uncollected_minor_total, rideshard_ride_psp_backlog.
payments::ride_charger_options ride_options(gateway::metrics& stats,
                                            std::function<std::int64_t()> now_ms,
                                            const std::string& currency) {
  auto& steps = prometheus::BuildCounter()
                    .Name("rideshard_ride_psp_steps_total")
                    .Help(
                        "Rides' PSP steps (authorize, capture, cancel, charge_extra, "
                        "end_request, nothing_held, uncollectable) by outcome")
                    .Register(stats.registry());
  auto& uncollected = prometheus::BuildCounter()
                          .Name("rideshard_ride_psp_uncollected_minor_total")
                          .Help(
                              "Ride money charged in the ledger that the PSP could not collect "
                              "(declined, no card, capture refused), minor units")
                          .Register(stats.registry())
                          .Add({});
  auto& backlog = prometheus::BuildGauge()
                      .Name("rideshard_ride_psp_backlog")
                      .Help("Rides waiting for a PSP step (new, or retrying an unknown outcome)")
                      .Register(stats.registry())
                      .Add({});
  payments::ride_charger_options o;
  o.on_backlog = [&backlog](std::size_t n) { backlog.Set(static_cast<double>(n)); };
  o.now_ms = std::move(now_ms);
  o.currency = currency;
  o.observe = [&steps, &uncollected](std::string_view step, std::string_view outcome,
                                     std::int64_t amount) {
    steps.Add({{"step", std::string(step)}, {"outcome", std::string(outcome)}}).Increment();
    const bool lost = step == "uncollectable" ||
                      ((step == "capture" || step == "charge_extra") &&
                       (outcome == "declined" || outcome == "failed" || outcome == "no_method"));
    if (lost) uncollected.Increment(static_cast<double>(amount));
  };
  return o;
}

}  // namespace

void node_payments::start_rides(std::function<result<void>(trip_id, const std::string&)> end) {
  rides_->set_end_request(std::move(end));
  rides_->start();
}

void node_payments::stop_rides() {
  if (rides_) rides_->stop();
}

node_payments::~node_payments() {
  if (store_ != nullptr) store_->set_commit_listener(nullptr);
  rides_.reset();    // its worker calls the PSP, the vault and the service
  service_.reset();  // before the PSP and the vault it uses
  fraud_.reset();
  psp_.reset();
  vault_.reset();
}

result<std::unique_ptr<node_payments>> node_payments::open(
    const payments_config& cfg, const persistence::vault_key& key, persistence::store& store,
    std::uint16_t node_id, std::function<std::int64_t()> now_ms, gateway::metrics& stats) {
  std::unique_ptr<node_payments> np(new node_payments());
  persistence::vault_options vo;
  vo.path = cfg.vault_dir;
  vo.key = key;
  auto vault = persistence::token_vault::open(vo);
  if (!vault) return error{vault.err().code, cfg.vault_dir + ": " + vault.err().message};
  np->vault_ = std::move(*vault);
  if (cfg.psp == "stripe") {
    payments::stripe_options so;
    so.host = cfg.stripe_host;
    so.port = cfg.stripe_port;
    so.timeout = std::chrono::milliseconds(cfg.stripe_timeout_ms);
    const char* sk = std::getenv(stripe_key_env);
    if (sk == nullptr || *sk == '\0')
      return error{errc::bad_config,
                   std::string("[payments] psp = \"stripe\" needs $") + stripe_key_env};
    so.secret_key = sk;
    np->psp_ = std::make_unique<payments::stripe_psp>(so);
  } else {
    auto sandbox = payments::sandbox_psp::open_durable(cfg.sandbox_journal, cfg.sandbox);
    if (!sandbox) return error{sandbox.err().code, sandbox.err().message};
    np->psp_ = std::move(*sandbox);
  }
  np->ids_ = std::make_unique<id_generator>(node_id, now_ms);
  payments::payment_options po;
  po.currency = cfg.currency;
  po.rules.tax_permille = cfg.tax_permille;
  po.rules.commission_permille = cfg.commission_permille;
  po.now_ms = now_ms;
  po.next_id = [p = np.get()] {
    std::lock_guard lock(p->ids_mu_);
    return p->ids_->next();
  };
  po.observe = [&stats](std::string_view event, std::int64_t amount) {
    stats.payment_event(event, static_cast<double>(amount));
  };
  auto fraud = open_fraud_desk(store, po.next_id, now_ms, stats);
  if (!fraud) return fraud.err();
  np->fraud_ = std::move(*fraud);
  po.on_method_added = [f = np->fraud_.get()](const payments::method_record& m) {
    f->card_added(m.rider, m.fingerprint);
  };
  po.on_refunded = [f = np->fraud_.get()](const payments::payment_record& p) {
    f->refund(p.rider);
  };
  auto service = payments::payment_service::open(store, *np->vault_, *np->psp_, std::move(po));
  if (!service) return service.err();
  np->service_ = std::move(*service);
  auto rides = payments::ride_charger::open(store, *np->vault_, *np->service_, *np->psp_,
                                            ride_options(stats, now_ms, cfg.currency));
  if (!rides) return rides.err();
  np->rides_ = std::move(*rides);
  np->store_ = &store;
  store.set_commit_listener([f = np->fraud_.get(), r = np->rides_.get(),
                             count = ride_money_counter(stats)](const persistence::write_batch& b) {
    f->committed(b);
    r->committed(b);
    count(b);
  });
  np->recovery_ = np->service_->reconcile();
  // Rides whose ledger money has no PSP outcome yet: queued for the worker,
  // which start_rides() runs once the node can end a declined request.
  auto rr = np->rides_->reconcile();
  if (!rr) return rr.err();
  np->ride_recovery_ = *rr;
  return np;
}

}  // namespace rideshard::app
