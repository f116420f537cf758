// node_storage: opening the store, starting the Kafka relay, scheduled backups.
#include "app/node_storage.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>

#include <nlohmann/json.hpp>

#include "rideshard/persistence/token_vault.hpp"
#include "rideshard/persistence/write_batch.hpp"

namespace rideshard::app {
namespace {

std::int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// "2026-11-22T07:09:14.475Z" (what persistence writes into ce_time) -> Unix ms.
std::optional<std::int64_t> parse_rfc3339_ms(const std::string& s) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) < 6)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

// "r-42" / "d-7" -> 42 / 7 (the store key); 0 if malformed.
std::uint64_t account_key(const std::string& id) {
  if (id.size() < 3 || id[1] != '-') return 0;
  std::uint64_t v = 0;
  for (std::size_t i = 2; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return 0;
    v = v * 10 + static_cast<std::uint64_t>(id[i] - '0');
  }
  return v;
}

// An account row: the clear part (id, role, dates, flags) and the personal
// part (name, email, password hash) sealed under the person's own vault key.
result<std::vector<std::uint8_t>> encode_account(const auth::user& u,
                                                 persistence::token_vault& vault) {
  std::string personal =
      nlohmann::json{{"name", u.name}, {"email", u.email}, {"password_hash", u.password_hash}}
          .dump();
  auto sealed = vault.seal_personal(u.id, personal);
  std::fill(personal.begin(), personal.end(), '\0');
  if (!sealed) return sealed.err();
  const nlohmann::json j{{"id", u.id},
                         {"role", std::string(auth::to_string(u.r))},
                         {"created_at_ms", u.created_at_ms},
                         {"suspended", u.suspended},
                         {"personal", *sealed}};
  const auto text = j.dump();
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

// A stored account as read back: nullopt when its personal key was shredded
// (an erasure interrupted before the row went); `legacy` when it predates
// sealing (personal fields in clear) and must be written again.
struct stored_account {
  std::optional<auth::user> account;
  bool legacy = false;
};

result<stored_account> decode_account(const std::vector<std::uint8_t>& bytes,
                                      const persistence::token_vault& vault) {
  auto j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return error{errc::storage_error, "unreadable account"};
  try {
    auth::user u;
    u.id = j.at("id").get<std::string>();
    auto r = auth::role_from_string(j.at("role").get<std::string>());
    if (!r) return r.err();
    u.r = *r;
    u.created_at_ms = j.at("created_at_ms").get<std::int64_t>();
    u.suspended = j.at("suspended").get<bool>();
    stored_account out;
    nlohmann::json personal = j;
    if (j.contains("personal")) {
      auto plain = vault.open_personal(u.id, j.at("personal").get<std::string>());
      if (!plain) return error{errc::storage_error, "account " + u.id + ": " + plain.err().message};
      if (!*plain) return out;  // erased
      personal = nlohmann::json::parse(**plain, nullptr, false);
      std::fill((*plain)->begin(), (*plain)->end(), '\0');
      if (!personal.is_object()) return error{errc::storage_error, "unreadable account " + u.id};
    } else {
      out.legacy = true;
    }
    u.name = personal.at("name").get<std::string>();
    u.email = personal.at("email").get<std::string>();
    u.password_hash = personal.at("password_hash").get<std::string>();
    out.account = std::move(u);
    return out;
  } catch (const nlohmann::json::exception& e) {
    return error{errc::storage_error, std::string("unreadable account: ") + e.what()};
  }
}

}  // namespace

auth::account_durability node_storage::account_hooks(persistence::token_vault& vault) {
  auth::account_durability h;
  h.put = [this, &vault](const auth::user& u) -> result<void> {
    const auto key = account_key(u.id);
    if (key == 0) return error{errc::invalid_argument, "malformed account id " + u.id};
    auto row = encode_account(u, vault);
    if (!row) return row.err();
    persistence::write_batch b;
    b.put_entity(persistence::entity_kind::account, key, 0, std::move(*row));
    if (auto ok = store_->commit(b); !ok) return ok.err();
    return {};
  };
  // Erasure: the key first. From then on the row is unreadable wherever a copy
  // of it survives (old SST files, backups); the row itself goes next.
  h.erase = [this, &vault](const auth::user& u) -> result<void> {
    if (auto ok = vault.shred_personal(u.id); !ok) return ok.err();
    persistence::write_batch b;
    b.erase_entity(persistence::entity_kind::account, account_key(u.id));
    if (auto ok = store_->commit(b); !ok) return ok.err();
    return {};
  };
  return h;
}

result<std::vector<auth::user>> node_storage::load_accounts(persistence::token_vault& vault) {
  auto snaps = store_->load_entities(persistence::entity_kind::account);
  if (!snaps) return snaps.err();
  std::vector<auth::user> out;
  out.reserve(snaps->size());
  const auto hooks = account_hooks(vault);
  for (const auto& s : *snaps) {
    auto a = decode_account(s.value, vault);
    if (!a) return a.err();
    if (!a->account) {  // its key is gone: finish the interrupted erasure
      persistence::write_batch b;
      b.erase_entity(persistence::entity_kind::account, s.id);
      if (auto ok = store_->commit(b); !ok) return ok.err();
      continue;
    }
    if (a->legacy)  // written before personal data was sealed: seal it now
      if (auto ok = hooks.put(*a->account); !ok) return ok.err();
    out.push_back(std::move(*a->account));
  }
  return out;
}

result<std::unique_ptr<node_storage>> node_storage::open(const storage_options& o) {
  if (o.data_dir.empty()) return error{errc::bad_config, "no data directory configured"};
  std::unique_ptr<node_storage> s(new node_storage());
  s->opts_ = o;
  persistence::store_options so;
  so.path = o.data_dir;
  auto st = persistence::store::open(so);
  if (!st) return st.err();
  s->store_ = std::move(*st);
  if (auto ok = s->load_region_switches(); !ok) return ok.err();
  if (!o.kafka_bootstrap.empty()) {
    auto topics = persistence::engine_topics(o.kafka_partitions);
    if (auto ok = persistence::create_topics(o.kafka_bootstrap, topics, std::chrono::seconds(5));
        !ok)
      std::fprintf(stderr,
                   "rideshard serve: WARNING: could not create Kafka topics (%s); events stay in "
                   "the outbox until the broker answers\n",
                   ok.err().message.c_str());
    persistence::relay_options ro;
    ro.bootstrap = o.kafka_bootstrap;
    ro.client_id = "rideshard-node";
    auto relay = persistence::outbox_relay::create(*s->store_, ro);
    if (!relay) return relay.err();
    s->relay_ = std::move(*relay);
    s->relay_->start();
    if (o.audit_window > 0) {
      // The console's audit is the cluster's: every node's entries come back
      // from the topic; only its newest audit_window are kept (a bound).
      s->audit_window_ = std::make_unique<api::audit_window>(o.audit_window);
      persistence::topic_window_options wo;
      wo.bootstrap = o.kafka_bootstrap;
      wo.topic = persistence::admin_audit_topic;
      wo.tail_per_partition = static_cast<std::int64_t>(o.audit_window);
      auto follow = persistence::topic_window::open(
          wo,
          [w = s->audit_window_.get()](const persistence::topic_record& r) { w->add(r.value); });
      if (!follow) return follow.err();
      s->audit_follow_ = std::move(*follow);
    }
  }
  if (!o.backup_dir.empty() && o.backup_interval.count() > 0)
    s->backup_thread_ = std::thread([p = s.get()] { p->backup_loop(); });
  // Nothing drains the embedded outbox: bound the analytics part of it.
  if (!s->relay_) s->retention_thread_ = std::thread([p = s.get()] { p->retention_loop(); });
  return s;
}

result<void> node_storage::flush_outbox(std::chrono::milliseconds timeout) {
  if (!relay_) return {};
  relay_->stop();
  return relay_->drain(timeout);
}

node_storage::~node_storage() {
  {
    std::lock_guard<std::mutex> lock{stop_mu_};
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (backup_thread_.joinable()) backup_thread_.join();
  if (retention_thread_.joinable()) retention_thread_.join();
  if (relay_) relay_->stop();  // rows in flight stay in the outbox
  relay_.reset();
  audit_follow_.reset();  // its thread feeds the window
  audit_window_.reset();
  store_.reset();
}

api::outbox_health node_storage::health() const {
  api::outbox_health h;
  h.depth = store_->outbox_depth();
  h.events_total = store_->next_outbox_sequence();
  h.events_by_topic = store_->outbox_events_by_topic();
  if (h.depth > 0) {
    if (auto rows = store_->read_outbox(0, 1); rows && !rows->empty()) {
      for (const auto& [k, v] : rows->front().event.headers)
        if (k == "ce_time")
          if (auto at = parse_rfc3339_ms(v))
            h.oldest_age_ms = std::max<std::int64_t>(0, unix_ms() - *at);
    }
  }
  h.broker_configured = relay_ != nullptr;
  if (!relay_) {
    h.analytics_rows = store_->analytics_depth();
    h.analytics_max_rows = opts_.retention.max_rows;
    h.analytics_max_age_ms = opts_.retention.max_age.count();
    h.oldest_analytics_age_ms =
        store_->oldest_analytics_age(std::chrono::steady_clock::now()).count();
    h.dropped = dropped_;
  }
  if (relay_) {
    auto rs = relay_->stats();
    h.broker_reachable = rs.broker_reachable;
    h.last_error = rs.last_error;
  }
  return h;
}

result<std::string> node_storage::backup_now() {
  if (opts_.backup_dir.empty())
    return error{errc::unavailable, "no backup directory configured ([node].backup_dir)"};
  std::lock_guard<std::mutex> lock{backup_mu_};
  if (auto ok = store_->backup(opts_.backup_dir); !ok) return ok.err();
  return opts_.backup_dir;
}

void node_storage::retention_loop() {
  std::unique_lock<std::mutex> lock{stop_mu_};
  while (!stop_cv_.wait_for(lock, opts_.retention_interval, [this] { return stopping_; })) {
    lock.unlock();
    auto pass = store_->drop_analytics(opts_.retention, std::chrono::steady_clock::now());
    if (!pass) {
      std::fprintf(stderr, "rideshard serve: outbox retention failed: %s\n",
                   pass.err().message.c_str());
    } else {
      dropped_ += pass->dropped_by_age + pass->dropped_by_size;
      if (auto* m = opts_.metrics) {
        if (pass->dropped_by_age) m->outbox_dropped("age", double(pass->dropped_by_age));
        if (pass->dropped_by_size) m->outbox_dropped("size", double(pass->dropped_by_size));
      }
    }
    if (auto* m = opts_.metrics) {
      m->set_queue_depth("outbox", double(store_->outbox_depth()));
      m->set_queue_depth("outbox_analytics", double(store_->analytics_depth()));
    }
    lock.lock();
  }
}

void node_storage::backup_loop() {
  std::unique_lock<std::mutex> lock{stop_mu_};
  while (!stop_cv_.wait_for(lock, opts_.backup_interval, [this] { return stopping_; })) {
    lock.unlock();
    if (auto ok = backup_now(); !ok)
      std::fprintf(stderr, "rideshard serve: scheduled backup failed: %s\n",
                   ok.err().message.c_str());
    lock.lock();
  }
}

}  // namespace rideshard::app
