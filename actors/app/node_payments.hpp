// node_payments: what `rideshard serve` runs for money — the token vault (its own
// RocksDB directory, key from $RIDESHARD_VAULT_KEY), the PSP ([payments] psp:
// the in-process sandbox or the Stripe-shaped HTTP adapter) and the payment
// service over the node's store, reconciled before the node serves.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <toml++/toml.h>

#include "gateway/metrics.hpp"
#include "payments/fraud_desk.hpp"
#include "payments/payment_service.hpp"
#include "payments/ride_charger.hpp"
#include "payments/sandbox_psp.hpp"
#include "payments/stripe_psp.hpp"
#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/result.hpp"
#include "rideshard/persistence/store.hpp"
#include "rideshard/persistence/token_vault.hpp"

namespace rideshard::app {

inline constexpr const char* vault_key_env = "RIDESHARD_VAULT_KEY";
inline constexpr const char* stripe_key_env = "RIDESHARD_STRIPE_SECRET_KEY";
/// The public development vault key: only with --dev (cards "protected" by it are not).
inline constexpr const char* development_vault_key =
    "6465762d6f6e6c792d7661756c742d6b65792d7075626c69632d6e6f742d7365";

/// [payments] of the node config.
struct payments_config {
  std::string psp = "sandbox";  ///< "sandbox" | "stripe"
  std::string vault_dir;        ///< default: <data_dir>/vault
  std::string currency = "usd";
  std::string stripe_host = "127.0.0.1";
  std::uint16_t stripe_port = 12111;
  std::int64_t stripe_timeout_ms = 10000;
  payments::sandbox_faults sandbox;  ///< failure injection for the demo and chaos runs
  /// The sandbox PSP's own durable records ([payments.sandbox] journal; default
  /// <data_dir>/sandbox-psp.journal): keys dedupe across restarts, like a real PSP.
  std::string sandbox_journal;
  std::int32_t tax_permille = 0;
  std::int32_t commission_permille = 250;
  /// Riders need a usable payment method to request a ride (WebSocket and HTTP).
  bool require_payment_method = false;
};

/// Reads [payments] of `doc`; `path` resolves a path relative to the config file.
/// Errors: bad_config (unknown psp, rates outside [0, 1]).
[[nodiscard]] result<payments_config> read_payments_config(
    const toml::table& doc, const std::string& data_dir,
    const std::function<std::string(const std::string&)>& path);

/// The vault key: $RIDESHARD_VAULT_KEY (64 hex characters). Without it only
/// --dev starts, with the public development key (and a warning); that key
/// itself needs --dev too. Errors: bad_config (the message never echoes the key).
[[nodiscard]] result<persistence::vault_key> load_vault_key(bool dev);

/// Owns the vault, the PSP, the service and the fraud desk (the store's commit
/// listener while it lives). Destroy before the store, after the node.
class node_payments {
 public:
  /// Opens the vault, builds the PSP and the service, and runs reconcile().
  /// Errors: bad_config, storage_error.
  [[nodiscard]] static result<std::unique_ptr<node_payments>> open(
      const payments_config& cfg, const persistence::vault_key& key, persistence::store& store,
      std::uint16_t node_id, std::function<std::int64_t()> now_ms, gateway::metrics& stats);
  ~node_payments();

  payments::payment_service& service() noexcept { return *service_; }
  /// The fraud rules on the live path: card and refund signals from the
  /// service, trip events from every committed batch of the store.
  payments::fraud_desk& fraud() noexcept { return *fraud_; }
  /// The vault also seals accounts' personal data (node_storage::account_hooks).
  persistence::token_vault& vault() noexcept { return *vault_; }
  const payments::reconcile_report& recovery() const noexcept { return recovery_; }
  /// Rides at the PSP: fed by the store's commit listener, reconciled at open().
  payments::ride_charger& rides() noexcept { return *rides_; }
  const payments::ride_reconcile_report& ride_recovery() const noexcept { return ride_recovery_; }
  /// Starts the ride charger's worker with the node's way to end a declined
  /// ride's request; stop_rides() before the node goes.
  void start_rides(std::function<result<void>(trip_id, const std::string&)> end_request);
  void stop_rides();
  std::string_view psp_name() const noexcept { return psp_->name(); }

 private:
  node_payments() = default;
  std::unique_ptr<persistence::token_vault> vault_;
  std::unique_ptr<payments::psp> psp_;
  std::unique_ptr<id_generator> ids_;
  std::mutex ids_mu_;
  persistence::store* store_ = nullptr;
  std::unique_ptr<payments::fraud_desk> fraud_;
  std::unique_ptr<payments::payment_service> service_;
  std::unique_ptr<payments::ride_charger> rides_;
  payments::reconcile_report recovery_;
  payments::ride_reconcile_report ride_recovery_;
};

}  // namespace rideshard::app
