// `rideshard serve`: one node — regions from the config, the CAF dispatch node,
// the HTTP API and the Beast gateway on one port. SIGTERM/SIGINT drain and exit 0.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include "api/http_api.hpp"
#include "api/ride_gate.hpp"
#include "app/cluster_config.hpp"
#include "app/node_payments.hpp"
#include "app/node_storage.hpp"
#include "app/version.hpp"
#include "auth/jwt.hpp"
#include "auth/password.hpp"
#include "auth/revocation.hpp"
#include "auth/user_store.hpp"
#include "gateway/listener.hpp"
#include "gateway/metrics.hpp"
#include "node/dispatch_node.hpp"
#include "node/log.hpp"
#include "node/scheduler_options.hpp"
#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/region.hpp"
#include "sim/fd_limit.hpp"

namespace rideshard::app {

int run_serve(int argc, char** argv);

namespace {

constexpr const char* secret_env = "RIDESHARD_JWT_SECRET";
constexpr const char* previous_secret_env = "RIDESHARD_JWT_PREVIOUS_SECRET";

struct serve_options {
  std::string config = "cluster-config/single-node.toml";
  std::string listen;    ///< host:port; overrides [node].listen
  std::string data_dir;  ///< overrides [node].data_dir
  storage_options storage;
  payments_config payments;           ///< [payments]
  node::cluster_options cluster;      ///< [cluster]; disabled without the section
  node::scheduler_options scheduler;  ///< [scheduler], besides threads
  std::size_t actor_threads = 2;      ///< [scheduler] threads (0: one per core)
  std::uint16_t node_id = 1;
  std::int64_t token_ttl_s = 86400;
  gateway::gateway_config gw;
  std::chrono::milliseconds drain_timeout{5000};
  /// [cluster] drain_timeout_ms: how long SIGTERM waits for this node's shard
  /// groups to be owned elsewhere before it closes the sessions anyway.
  std::chrono::milliseconds group_drain_timeout{30000};
  std::size_t api_threads = 4;
  std::int64_t location_sample_ms = 30'000;    ///< [kafka].location_sample_s; 0: none
  std::int64_t no_driver_timeout_ms = 20'000;  ///< [matching].no_driver_timeout_ms; 0: off
  bool dev = false;  ///< --dev: the public development secret when no secret is set
  std::string console_dir = RIDESHARD_CONSOLE_DIR;  ///< the console bundle the build wrote
  bool allow_plaintext = false;  ///< --allow-plaintext / [gateway] allow_plaintext
};

// Loopback addresses may serve plain text; anything else needs TLS or an explicit opt-in.
bool is_loopback(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address == "localhost";
}

std::int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// [scheduler] into s (absent keys keep its defaults). An error names an unknown
// key or a value that is not a whole number >= 0.
result<void> read_scheduler_config(const toml::table& doc, node::scheduler_options& s,
                                   std::size_t& threads) {
  auto micros = [](std::chrono::microseconds& v) {
    return [&v](std::size_t us) { v = std::chrono::microseconds(us); };
  };
  auto count = [](std::size_t& v) { return [&v](std::size_t n) { v = n; }; };
  const std::pair<const char*, std::function<void(std::size_t)>> keys[] = {
      {"threads", count(threads)},
      {"aggressive_poll_attempts", count(s.aggressive_poll_attempts)},
      {"aggressive_steal_interval", count(s.aggressive_steal_interval)},
      {"moderate_poll_attempts", count(s.moderate_poll_attempts)},
      {"moderate_steal_interval", count(s.moderate_steal_interval)},
      {"moderate_sleep_us", micros(s.moderate_sleep)},
      {"relaxed_sleep_us", micros(s.relaxed_sleep)},
      {"relaxed_steal_interval", count(s.relaxed_steal_interval)},
  };
  const auto* table = doc["scheduler"].as_table();
  if (table == nullptr) return {};
  for (const auto& [key, value] : *table) {
    const auto* k = std::find_if(std::begin(keys), std::end(keys),
                                 [&](const auto& e) { return key.str() == e.first; });
    if (k == std::end(keys))
      return error{errc::bad_config, "[scheduler] has no key '" + std::string(key.str()) + "'"};
    const auto n = value.value<std::int64_t>();
    if (!n || *n < 0)
      return error{errc::bad_config,
                   "[scheduler] " + std::string(key.str()) + " must be a whole number >= 0"};
    k->second(static_cast<std::size_t>(*n));
  }
  if (threads > 64) return error{errc::bad_config, "[scheduler] threads must be <= 64"};
  return node::validate(s);
}

// Reads [node], [gateway], [auth], [matching] and the rest of the node config
// into o (flags win).
bool read_node_config(serve_options& o, const std::string& listen_flag) {
  toml::table doc;
  try {
    doc = toml::parse_file(o.config);
  } catch (const toml::parse_error& e) {
    std::fprintf(stderr, "rideshard serve: %s: %s\n", o.config.c_str(),
                 std::string(e.description()).c_str());
    return false;
  }
  o.node_id = static_cast<std::uint16_t>(doc["node"]["id"].value_or(1));
  // Relative paths in the config are relative to the config file.
  const auto base = std::filesystem::path(o.config).parent_path();
  auto config_path = [&](const std::string& v) {
    return v.empty() || std::filesystem::path(v).is_absolute()
               ? v
               : (base / v).lexically_normal().string();
  };
  auto& so = o.storage;
  so.data_dir = o.data_dir.empty()
                    ? config_path(doc["node"]["data_dir"].value_or(std::string("../data")))
                    : o.data_dir;
  if (so.backup_dir.empty())
    so.backup_dir = config_path(doc["node"]["backup_dir"].value_or(std::string()));
  so.backup_interval = std::chrono::seconds(doc["node"]["backup_interval_s"].value_or(0));
  if (so.kafka_bootstrap.empty())
    so.kafka_bootstrap = doc["kafka"]["bootstrap"].value_or(std::string());
  so.kafka_partitions = doc["kafka"]["partitions"].value_or(3);
  const auto outbox = doc["outbox"];
  so.retention.max_age = std::chrono::seconds(outbox["analytics_max_age_s"].value_or(
      std::chrono::duration_cast<std::chrono::seconds>(so.retention.max_age).count()));
  so.retention.max_rows = outbox["analytics_max_rows"].value_or(so.retention.max_rows);
  so.retention_interval = std::chrono::milliseconds(
      outbox["retention_interval_ms"].value_or(std::int64_t{so.retention_interval.count()}));
  if (so.retention.max_age.count() < 0 || so.retention_interval.count() <= 0) {
    std::fprintf(stderr,
                 "rideshard serve: %s: [outbox] analytics_max_age_s must be >= 0 and "
                 "retention_interval_ms > 0\n",
                 o.config.c_str());
    return false;
  }
  auto payments = read_payments_config(doc, so.data_dir, config_path);
  if (!payments) {
    std::fprintf(stderr, "rideshard serve: %s: %s\n", o.config.c_str(),
                 payments.err().message.c_str());
    return false;
  }
  o.payments = std::move(*payments);
  auto cluster = read_cluster_config(doc, config_path);
  if (!cluster) {
    std::fprintf(stderr, "rideshard serve: %s: %s\n", o.config.c_str(),
                 cluster.err().message.c_str());
    return false;
  }
  o.cluster = std::move(*cluster);
  if (o.cluster.enabled) {  // shard ownership needs the broker; without one every shard is local
    o.cluster.kafka_bootstrap = so.kafka_bootstrap;
    if (so.kafka_bootstrap.empty()) {
      if (doc["cluster"]["shard_groups"].value_or(0) > 0) {
        std::fprintf(stderr,
                     "rideshard serve: %s: [cluster] shard_groups needs [kafka] bootstrap (or "
                     "--kafka-bootstrap): shard ownership is a Kafka consumer group\n",
                     o.config.c_str());
        return false;
      }
      o.cluster.shard_groups = 0;
    }
    o.group_drain_timeout = std::chrono::milliseconds(
        doc["cluster"]["drain_timeout_ms"].value_or(std::int64_t{o.group_drain_timeout.count()}));
    if (o.group_drain_timeout.count() < 1000 || o.group_drain_timeout.count() > 600'000) {
      std::fprintf(stderr, "rideshard serve: %s: [cluster] drain_timeout_ms must be 1000..600000\n",
                   o.config.c_str());
      return false;
    }
  }
  if (auto ok = read_scheduler_config(doc, o.scheduler, o.actor_threads); !ok) {
    std::fprintf(stderr, "rideshard serve: %s: %s\n", o.config.c_str(), ok.err().message.c_str());
    return false;
  }
  o.location_sample_ms = doc["kafka"]["location_sample_s"].value_or(std::int64_t{30}) * 1000;
  o.no_driver_timeout_ms = doc["matching"]["no_driver_timeout_ms"].value_or(o.no_driver_timeout_ms);
  if (o.no_driver_timeout_ms < 0) {
    std::fprintf(stderr, "rideshard serve: %s: [matching] no_driver_timeout_ms must be >= 0\n",
                 o.config.c_str());
    return false;
  }
  std::string listen = listen_flag.empty()
                           ? doc["node"]["listen"].value_or(std::string("127.0.0.1:8080"))
                           : listen_flag;
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "rideshard serve: listen must be host:port, got '%s'\n", listen.c_str());
    return false;
  }
  o.gw.address = listen.substr(0, colon);
  o.gw.port = static_cast<std::uint16_t>(std::atoi(listen.c_str() + colon + 1));
  const auto gw = doc["gateway"];
  o.gw.io_threads = gw["io_threads"].value_or(o.gw.io_threads);
  o.gw.max_frame_bytes = gw["max_frame_bytes"].value_or(o.gw.max_frame_bytes);
  o.gw.max_queue_frames = gw["max_queue_frames"].value_or(o.gw.max_queue_frames);
  o.gw.rate_per_s = gw["rate_per_s"].value_or(o.gw.rate_per_s);
  o.gw.burst = gw["burst"].value_or(o.gw.burst);
  o.gw.idle_timeout = std::chrono::milliseconds(gw["idle_timeout_ms"].value_or(60000));
  o.gw.handshake_timeout = std::chrono::milliseconds(gw["handshake_timeout_ms"].value_or(5000));
  o.gw.console_feed_interval =
      std::chrono::milliseconds(gw["console_feed_interval_ms"].value_or(1000));
  if (o.gw.console_feed_interval.count() < 100) {
    std::fprintf(stderr, "rideshard serve: [gateway] console_feed_interval_ms must be >= 100\n");
    return false;
  }
  o.drain_timeout = std::chrono::milliseconds(gw["drain_timeout_ms"].value_or(5000));
  o.api_threads = gw["api_threads"].value_or(o.api_threads);
  o.gw.tls_cert_file = config_path(gw["tls_cert"].value_or(std::string()));
  o.gw.tls_key_file = config_path(gw["tls_key"].value_or(std::string()));
  o.allow_plaintext = o.allow_plaintext || gw["allow_plaintext"].value_or(false);
  if (o.gw.tls_cert_file.empty() && !is_loopback(o.gw.address) && !o.allow_plaintext) {
    std::fprintf(stderr,
                 "rideshard serve: refusing to serve plain text on %s (tokens and positions "
                 "would cross the network in clear): set [gateway] tls_cert and tls_key, or "
                 "pass --allow-plaintext (e.g. behind a TLS-terminating proxy)\n",
                 o.gw.address.c_str());
    return false;
  }
  if (const auto* origins = gw["allowed_origins"].as_array()) {
    for (const auto& v : *origins) {
      auto s = v.value<std::string>();
      if (!s) {
        std::fprintf(stderr, "rideshard serve: [gateway] allowed_origins must be strings\n");
        return false;
      }
      o.gw.allowed_origins.push_back(*s);
    }
  }
  o.token_ttl_s = doc["auth"]["token_ttl_s"].value_or(o.token_ttl_s);
  return true;
}

// The JWT secrets: $RIDESHARD_JWT_SECRET (current) and, while rotating,
// $RIDESHARD_JWT_PREVIOUS_SECRET. Without a secret only --dev starts, loudly, with
// the public development secret; the development secret itself needs --dev too.
result<auth::token_authority> make_authority(bool dev,
                                             std::shared_ptr<const auth::revocation_list> revoked) {
  auto secret = auth::load_jwt_secret(secret_env, "");
  if (!secret) {
    const char* env = std::getenv(secret_env);
    if ((env != nullptr && *env != '\0') || !dev)
      return error{errc::bad_config,
                   secret.err().message +
                       " (a random secret of at least 32 bytes, e.g. `openssl rand -hex 32`; "
                       "--dev runs with the public development secret)"};
    std::fprintf(stderr,
                 "rideshard serve: WARNING: --dev: %s is not set; accepting tokens signed with "
                 "the PUBLIC DEVELOPMENT secret. Anyone can mint admin tokens for this node. "
                 "Never expose it.\n",
                 secret_env);
    secret = std::string(auth::development_secret);
  } else if (*secret == auth::development_secret && !dev) {
    return error{errc::bad_config,
                 std::string(secret_env) + " is the public development secret; use --dev for that"};
  }
  auto previous = auth::load_previous_secrets(previous_secret_env);
  if (!previous) return previous.err();
  auth::token_options opts;
  opts.previous_secrets = std::move(*previous);
  opts.revocations = std::move(revoked);
  return auth::token_authority::create(*secret, std::string(auth::default_issuer),
                                       auth::system_unix_seconds, std::move(opts));
}

// Maps a verified JWT to the node's identity (driver, rider or admin: /v1/admin).
node::token_verifier make_verifier(const auth::token_authority& tokens) {
  return [&tokens](const std::string& token) -> result<node::identity> {
    auto c = tokens.verify(token);
    if (!c) return c.err();
    if (c->r == auth::role::admin) return node::identity{c->subject, schemas::role::admin};
    return node::identity{
        c->subject, c->r == auth::role::driver ? schemas::role::driver : schemas::role::rider};
  };
}

int wait_for_signal(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace

int run_serve(int argc, char** argv) {
  CLI::App app{"Run one node: HTTP + WebSocket gateway, dispatch actors.", "rideshard serve"};
  serve_options o;
  std::string listen_flag;
  app.add_option("--config", o.config, "node config (cluster-config/*.toml)")
      ->capture_default_str();
  app.add_option("--listen", listen_flag,
                 "host:port to bind (port 0: ephemeral); overrides [node].listen");
  app.add_option("--data-dir", o.data_dir, "data directory; overrides [node].data_dir");
  app.add_option("--backup-dir", o.storage.backup_dir,
                 "backup directory for `rideshard admin backup` and scheduled backups; "
                 "overrides [node].backup_dir");
  app.add_option("--console-dir", o.console_dir,
                 "the admin console's bundle (console.js, index.html), served at /admin")
      ->capture_default_str();
  app.add_option("--kafka-bootstrap", o.storage.kafka_bootstrap,
                 "HOST:PORT of a Kafka broker; overrides [kafka].bootstrap (empty: events "
                 "wait in the outbox). With [cluster]: shard ownership through Kafka "
                 "([cluster] shard_groups)");
  // Flag, else $RIDESHARD_LOG_LEVEL, else info.
  const char* env_level = std::getenv("RIDESHARD_LOG_LEVEL");
  std::string log_level = env_level != nullptr && *env_level != '\0' ? env_level : "info";
  app.add_flag("--allow-plaintext", o.allow_plaintext,
               "serve plain HTTP/WebSocket on a non-loopback address (default: refused "
               "unless [gateway] tls_cert/tls_key are set)");
  app.add_flag("--dev", o.dev,
               "development only: without $RIDESHARD_JWT_SECRET accept tokens signed with the "
               "public development secret, and without $RIDESHARD_VAULT_KEY encrypt the card "
               "vault with the public development key (otherwise serve refuses to start)");
  app.add_option("--log-level", log_level,
                 "trace|debug|info|warn|error|critical|off (default: $RIDESHARD_LOG_LEVEL, "
                 "else info); logfmt lines on stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!node::set_log_level(log_level)) {
    std::fprintf(stderr, "rideshard serve: unknown log level '%s'\n", log_level.c_str());
    return 2;
  }
  if (!read_node_config(o, listen_flag)) return 2;
  // One descriptor per WebSocket connection: 10,000 drivers need more than 1,024.
  if (const auto fds = sim::raise_fd_limit(65536); fds < 16384)
    std::fprintf(stderr, "rideshard serve: WARNING: only %llu file descriptors (ulimit -n)\n",
                 static_cast<unsigned long long>(fds));
  auto regions = load_node_regions(o.config);
  if (!regions) {
    std::fprintf(stderr, "rideshard serve: %s\n", regions.err().message.c_str());
    return 2;
  }
  auto revoked = std::make_shared<auth::revocation_list>();
  auto tokens = make_authority(o.dev, revoked);
  if (!tokens) {
    std::fprintf(stderr, "rideshard serve: %s\n", tokens.err().message.c_str());
    return 2;
  }
  auto vault_key = load_vault_key(o.dev);
  if (!vault_key) {
    std::fprintf(stderr, "rideshard serve: %s\n", vault_key.err().message.c_str());
    return 2;
  }

  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  gateway::metrics stats;  // before storage and node: both report here until they stop
  o.storage.metrics = &stats;
  o.storage.node_id = o.node_id;
  {  // RocksDB creates the data dir itself, not its parents (e.g. data/node-2 of a cluster config)
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(o.storage.data_dir).parent_path(),
                                        ec);
  }
  auto storage = node_storage::open(o.storage);
  if (!storage) {
    std::fprintf(stderr, "rideshard serve: %s: %s\n", o.storage.data_dir.c_str(),
                 storage.err().message.c_str());
    return 2;
  }
  // Payments before the node and the API: in-flight PSP calls are finished first.
  auto pay =
      node_payments::open(o.payments, *vault_key, (*storage)->store(), o.node_id, unix_ms, stats);
  if (!pay) {
    std::fprintf(stderr, "rideshard serve: payments: %s\n", pay.err().message.c_str());
    return 2;
  }
  // Before the node: its actor system reads them when it starts.
  if (auto ok = node::set_process_scheduler(o.scheduler); !ok) {
    std::fprintf(stderr, "rideshard serve: %s\n", ok.err().message.c_str());
    return 2;
  }
  node::dispatch_options dopts;
  dopts.store = &(*storage)->store();
  dopts.node_id = o.node_id;
  dopts.now_ms = unix_ms;
  dopts.stats = &stats;
  dopts.location_sample_ms = o.location_sample_ms;
  dopts.no_driver_timeout = std::chrono::milliseconds(o.no_driver_timeout_ms);
  dopts.money.tax_permille = o.payments.tax_permille;  // rides split as API payments do
  dopts.money.commission_permille = o.payments.commission_permille;
  dopts.cluster = o.cluster;
  dopts.worker_threads = o.actor_threads;
  dopts.cluster.version = rideshard_version;
  // GPS spoofing: each refused jump is a signal to the fraud desk.
  dopts.on_impossible_jump = [f = &(*pay)->fraud()](driver_id d) { f->impossible_speed(d); };
  auto node = node::dispatch_node::create(std::move(*regions), dopts, make_verifier(*tokens));
  if (!node) {
    std::fprintf(stderr, "rideshard serve: %s: %s\n",
                 std::string(to_string(node.err().code)).c_str(), node.err().message.c_str());
    return 2;
  }
  // Region switches are acknowledged state: an admin's pause or freeze holds
  // across a restart. Their record is written with the flip's audit entry
  // (synced before the answer); open() read it.
  {
    const auto source = (*storage)->region_switches_source();
    if (!source.from_record)
      std::printf(
          "rideshard serve: region switches recorded from the audit log (%zu entries, "
          "once; later starts read only the record)\n",
          source.audit_entries_read);
    for (const auto& r : (*storage)->region_switches()) {
      auto paused = r.dispatch_paused ? (*node)->pause_dispatch(r.region, true)
                                      : result<node::region_switches>(node::region_switches{});
      auto frozen = r.surge_frozen ? (*node)->freeze_surge(r.region, true)
                                   : result<node::region_switches>(node::region_switches{});
      if (!paused || !frozen)  // a region no longer configured: nothing to switch
        std::fprintf(stderr, "rideshard serve: region switch for '%s' not restored: %s\n",
                     r.region.c_str(), (!paused ? paused : frozen).err().message.c_str());
      else
        std::printf("rideshard serve: region %s restored:%s%s\n", r.region.c_str(),
                    r.dispatch_paused ? " dispatch paused" : "",
                    r.surge_frozen ? " surge frozen" : "");
    }
  }
  id_generator user_ids(o.node_id, unix_ms);
  auth::user_store users([&user_ids] { return user_ids.next(); }, unix_ms);
  // Accounts are acknowledged state too: written (synced) before the API answers.
  users.set_durability((*storage)->account_hooks((*pay)->vault()));
  if (auto accounts = (*storage)->load_accounts((*pay)->vault()); !accounts) {
    std::fprintf(stderr, "rideshard serve: reading accounts: %s\n", accounts.err().message.c_str());
    return 2;
  } else if (auto ok = users.restore(*accounts); !ok) {
    std::fprintf(stderr, "rideshard serve: restoring accounts: %s\n", ok.err().message.c_str());
    return 2;
  }
  api::api_options aopts;
  aopts.token_ttl_s = o.token_ttl_s;
  aopts.now_ms = unix_ms;
  aopts.worker_threads = o.api_threads;
  aopts.secure_cookies = !o.gw.tls_cert_file.empty();  // the console's cookie over HTTPS only
  aopts.console_dir = o.console_dir;
  aopts.audit = [s = storage->get()](api::audit_entry& e) { return s->record_audit(e); };
  aopts.recent_audit = [s = storage->get()](std::size_t n, std::uint64_t before) {
    return s->recent_audit(n, before);
  };
  aopts.audit_source = [s = storage->get()] { return s->audit_source(); };
  aopts.audit_scope = (*storage)->audit_scope();
  aopts.node_id = o.node_id;
  aopts.version = rideshard_version;
  aopts.outbox = [s = storage->get()] { return s->health(); };
  aopts.cluster_drain_timeout = o.group_drain_timeout;
  aopts.payments = &(*pay)->service();
  aopts.fraud = &(*pay)->fraud();
  aopts.rides = &(*pay)->rides();
  aopts.require_payment_method = o.payments.require_payment_method;
  if (!o.storage.backup_dir.empty())
    aopts.backup = [s = storage->get()] { return s->backup_now(); };
  auto http = std::make_unique<api::http_api>(**node, *tokens, users, stats, aopts);
  gateway::gateway gw;
  // Suspension and deletion: the subject's tokens stop working at once (every
  // HTTP request and hello checks `revoked`) and its live sessions are closed.
  users.set_revocation(revoked, [&gw](const std::string& subject) {
    const auto closed = gw.close_subject(subject, "account_revoked");
    std::fprintf(stderr, "event=account_revoked subject=%s sessions_closed=%zu\n", subject.c_str(),
                 closed);
  });
  // [payments] require_payment_method: ride requests over WebSocket pass the
  // payment-method check at the boundary before the node sees them.
  std::unique_ptr<api::ride_gate> gate;
  if (o.payments.require_payment_method)
    gate = std::make_unique<api::ride_gate>(**node, make_verifier(*tokens), (*pay)->service(),
                                            stats, unix_ms);
  gateway::ws_handler& ws =
      gate ? static_cast<gateway::ws_handler&>(*gate) : static_cast<gateway::ws_handler&>(**node);
  auto port = gw.start(o.gw, ws, *http, stats);
  if (!port) {
    std::fprintf(stderr, "rideshard serve: cannot listen on %s:%u: %s\n", o.gw.address.c_str(),
                 o.gw.port, port.err().message.c_str());
    return 1;
  }
  // Rides at the PSP (after the last early exit: stop_rides() must run before
  // the node goes): a refused authorization ends the trip's request.
  (*pay)->start_rides([n = node->get()](trip_id t, const std::string& reason) -> result<void> {
    auto ended = n->end_trip(t, reason);
    if (!ended) return ended.err();
    return {};
  });
  std::printf(
      "rideshard serve: listening on %s://%s:%u  (WebSocket /v1/driver /v1/rider, "
      "GET /health, GET /metrics, /api/..., console /admin)\n",
      gw.tls() ? "https" : "http", o.gw.address.c_str(), *port);
  const auto rec = (*node)->recovery();
  std::printf("rideshard serve: data %s (recovered %zu active trips of %zu stored), Kafka %s\n",
              o.storage.data_dir.c_str(), rec.trips_revived, rec.trips_read,
              o.storage.kafka_bootstrap.empty() ? "not configured (events wait in the outbox)"
                                                : o.storage.kafka_bootstrap.c_str());
  if (o.cluster.enabled) {
    const auto self = (*node)->cluster().members.front();
    std::printf(
        "rideshard serve: cluster node %u on BASP %s (mutual TLS, CA %s), %zu seeds, "
        "heartbeat %lld ms, down after %lld ms; %s\n",
        static_cast<unsigned>(o.node_id), self.address.c_str(), o.cluster.tls_ca.c_str(),
        o.cluster.seeds.size(), static_cast<long long>(o.cluster.heartbeat_interval.count()),
        static_cast<long long>(o.cluster.connection_timeout.count()),
        o.cluster.shard_groups > 0
            ? ("serves the shard groups of " + std::to_string(o.cluster.shard_groups) +
               " that Kafka assigns it (consumer group rideshard-shards)")
                  .c_str()
            : "no [kafka] bootstrap: every shard is served here (no shard ownership)");
  }
  const auto& rp = (*pay)->recovery();
  std::printf(
      "rideshard serve: payments psp=%s vault %s (reconciled %zu in-flight PSP calls: "
      "%zu finished, %zu failed, %zu unknown; %zu expired holds voided)\n",
      std::string((*pay)->psp_name()).c_str(), o.payments.vault_dir.c_str(), rp.in_flight,
      rp.finished, rp.failed, rp.still_unknown, rp.expired_voided);
  const auto& rr = (*pay)->ride_recovery();
  std::printf(
      "rideshard serve: rides at the PSP: %zu trips not known in line, %zu queued to "
      "finish at the PSP\n",
      rr.trips, rr.pending);
  std::fflush(stdout);

  const int sig = wait_for_signal(stop_signals);
  std::printf("rideshard serve: %s received, draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  std::fflush(stdout);
  // Cluster with shard ownership: the shard groups move to the other nodes
  // first (each phase logged: event=drain_phase); the sessions stay open meanwhile.
  if (o.cluster.enabled && o.cluster.shard_groups > 0) {
    const auto d = (*node)->drain_groups(o.group_drain_timeout);
    std::printf("rideshard serve: drain: %zu shard groups %s after %lld ms\n", d.groups.size(),
                d.handed_off ? "owned by other nodes" : "NOT all owned elsewhere (timed out)",
                static_cast<long long>(d.took_ms));
    std::fflush(stdout);
  }
  // Every session is closed with 1001 (going away): apps reconnect to another
  // node and resume there.
  const bool drained = gw.drain(std::chrono::steady_clock::now() + o.drain_timeout);
  std::fprintf(stderr, "event=drain_phase phase=sessions_closed all_closed=%s\n",
               drained ? "true" : "false");
  gw.stop();
  // API workers before the node: a thread that talked to the actor system keeps
  // CAF's thread-local logger alive, and ~actor_system waits for that logger.
  http.reset();
  (*pay)->stop_rides();  // its worker talks to the node
  node->reset();
  // Events still in the outbox go to Kafka now (bounded); what is left stays
  // in the store for the next start.
  const auto flushed = (*storage)->flush_outbox(o.drain_timeout);
  std::fprintf(
      stderr, "event=drain_phase phase=outbox_flushed ok=%s%s%s\n", flushed ? "true" : "false",
      flushed ? "" : " msg=", flushed ? "" : ("\"" + flushed.err().message + "\"").c_str());
  std::printf("rideshard serve: stopped (%s)\n",
              drained ? "all sessions closed" : "drain timed out");
  return 0;
}

}  // namespace rideshard::app
