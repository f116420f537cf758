// sandbox_psp: intents, idempotency keys, Stripe's declining test cards and
// seeded failure injection, all under one mutex.
#include "payments/sandbox_psp.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <utility>

namespace rideshard::payments {

namespace {
const error unavailable_5xx{errc::psp_unavailable, "sandbox PSP: 500 (injected); nothing applied"};
const error unavailable_timeout{errc::psp_unavailable,
                                "sandbox PSP: timed out (injected); the outcome is unknown, retry "
                                "with the same idempotency key"};
}  // namespace

sandbox_psp::sandbox_psp(sandbox_faults faults) : faults_(faults), rng_(faults.seed) {}

sandbox_psp::~sandbox_psp() {
  if (journal_fd_ >= 0) ::close(journal_fd_);
}

namespace {

using json = nlohmann::json;

json intent_json(const psp_intent& i) {
  return {{"id", i.id},
          {"status", static_cast<int>(i.status)},
          {"raw", i.raw_status},
          {"amount", i.amount},
          {"capturable", i.amount_capturable},
          {"received", i.amount_received}};
}

psp_intent intent_of(const json& j) {
  psp_intent i;
  i.id = j.at("id").get<std::string>();
  i.status = static_cast<intent_status>(j.at("status").get<int>());
  i.raw_status = j.at("raw").get<std::string>();
  i.amount = j.at("amount").get<std::int64_t>();
  i.amount_capturable = j.at("capturable").get<std::int64_t>();
  i.amount_received = j.at("received").get<std::int64_t>();
  return i;
}

template <class T>
json answer_json(const result<T>& r, json ok) {
  if (r) return {{"ok", std::move(ok)}};
  return {{"code", static_cast<int>(r.code())}, {"message", r.err().message}};
}

template <class T, class F>
result<T> answer_of(const json& j, F from) {
  if (j.contains("ok")) return from(j.at("ok"));
  return error{static_cast<errc>(j.at("code").get<int>()), j.at("message").get<std::string>()};
}

}  // namespace

result<std::unique_ptr<sandbox_psp>> sandbox_psp::open_durable(const std::string& journal,
                                                               sandbox_faults faults) {
  std::unique_ptr<sandbox_psp> p(new sandbox_psp(faults));
  std::string text;
  {
    std::ifstream in(journal, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // Replay whole lines; a last line the crash cut short (unsynced, never
  // answered) is dropped and cut off the file before anything is appended.
  std::size_t good = 0;
  while (good < text.size()) {
    const auto end = text.find('\n', good);
    if (end == std::string::npos) break;  // no newline: the write never completed
    const bool last = end + 1 == text.size();
    auto r = p->replay_line(text.substr(good, end - good));
    if (!r) {
      if (!last) return error{errc::bad_json, journal + ": corrupt sandbox PSP journal line"};
      break;
    }
    good = end + 1;
  }
  p->journal_fd_ = ::open(journal.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (p->journal_fd_ < 0 || ::ftruncate(p->journal_fd_, static_cast<off_t>(good)) != 0)
    return error{errc::storage_error, journal + ": " + std::strerror(errno)};
  return p;
}

result<void> sandbox_psp::replay_line(const std::string& line) {
  try {
    const json j = json::parse(line);
    keyed_answer a;
    a.fingerprint = j.at("f").get<std::string>();
    if (j.contains("intent_answer"))
      a.intent = answer_of<psp_intent>(j.at("intent_answer"), intent_of);
    if (j.contains("refund_answer"))
      a.refund = answer_of<psp_refund>(j.at("refund_answer"), [](const json& r) {
        return psp_refund{r.at("id").get<std::string>(), r.at("amount").get<std::int64_t>()};
      });
    if (j.contains("state")) {
      const json& st = j.at("state");
      sandbox_intent in;
      in.intent = intent_of(st.at("intent"));
      in.key = st.at("key").get<std::string>();
      in.refunded = st.at("refunded").get<std::int64_t>();
      in.captures = st.at("captures").get<int>();
      in.refunds = st.at("refunds").get<int>();
      intents_[in.intent.id] = std::move(in);
    }
    keys_[j.at("k").get<std::string>()] = std::move(a);
    next_id_ = std::max(next_id_, j.at("n").get<std::uint64_t>());
    return {};
  } catch (const std::exception& e) {
    return error{errc::bad_json, e.what()};
  }
}

result<void> sandbox_psp::persist(std::string_view key, const keyed_answer& a,
                                  std::string_view intent) {
  if (journal_fd_ < 0) return {};
  json j{{"k", key}, {"f", a.fingerprint}, {"n", next_id_}};
  if (a.fingerprint.rfind("refund|", 0) == 0)
    j["refund_answer"] = answer_json(
        a.refund, a.refund ? json{{"id", a.refund->id}, {"amount", a.refund->amount}} : json());
  else
    j["intent_answer"] = answer_json(a.intent, a.intent ? intent_json(*a.intent) : json());
  std::string id(intent);
  if (id.empty() && a.intent) id = a.intent->id;
  if (auto it = intents_.find(id); it != intents_.end())
    j["state"] = {{"intent", intent_json(it->second.intent)},
                  {"key", it->second.key},
                  {"refunded", it->second.refunded},
                  {"captures", it->second.captures},
                  {"refunds", it->second.refunds}};
  const std::string line = j.dump() + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    const auto n = ::write(journal_fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return error{errc::psp_unavailable, "sandbox PSP: journal write failed"};
    done += static_cast<std::size_t>(n);
  }
  if (::fdatasync(journal_fd_) != 0)
    return error{errc::psp_unavailable, "sandbox PSP: journal sync failed"};
  return {};
}

void sandbox_psp::set_faults(const sandbox_faults& f) {
  std::lock_guard lock(mu_);
  if (f.seed != faults_.seed) rng_.seed(f.seed);
  faults_ = f;
}

bool sandbox_psp::draw(double p) {
  if (p <= 0) return false;
  // 53 random bits -> [0, 1): the same on every platform for one seed.
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  return u < p;
}

sandbox_psp::fault sandbox_psp::draw_fault() {
  if (draw(faults_.server_error)) return fault::server_error;
  if (draw(faults_.timeout)) return fault::timeout;
  return fault::none;
}

void sandbox_psp::emit(const std::string& type, const std::string& intent) {
  psp_event ev{"evt_sbx_" + std::to_string(next_id_++), type, intent};
  auto& to = draw(faults_.late_callback) ? held_ : events_;
  if (draw(faults_.duplicate_callback)) to.push_back(ev);
  to.push_back(std::move(ev));
}

template <class Apply>
result<sandbox_psp::keyed_answer*> sandbox_psp::keyed(std::string_view key, std::string fingerprint,
                                                      std::string_view intent, Apply apply) {
  if (key.empty())
    return error{errc::invalid_argument, "sandbox PSP: an idempotency key is required"};
  const fault f = draw_fault();
  if (f == fault::server_error) {
    ++stats_.server_errors;
    return unavailable_5xx;
  }
  keyed_answer* answer = nullptr;
  if (auto it = keys_.find(key); it != keys_.end()) {
    if (it->second.fingerprint != fingerprint) {
      ++stats_.conflicts;
      return error{errc::idempotency_conflict,
                   "sandbox PSP: idempotency key reused with other parameters"};
    }
    ++stats_.replays;
    answer = &it->second;
  } else {
    answer = &keys_.emplace(std::string(key), keyed_answer{}).first->second;
    answer->fingerprint = std::move(fingerprint);
    apply(*answer);
    // The answer leaves only once it is on disk; a failed sync is an unknown
    // outcome for the caller (retry with the key: the replay answers it).
    if (auto w = persist(key, *answer, intent); !w) return w.err();
  }
  if (f == fault::timeout) {
    ++stats_.timeouts;
    return unavailable_timeout;
  }
  return answer;
}

result<psp_intent> sandbox_psp::authorize(const authorize_request& req) {
  std::lock_guard lock(mu_);
  if (req.card == nullptr || req.amount <= 0)
    return error{errc::invalid_argument, "sandbox PSP: authorize needs a card and an amount > 0"};
  const std::string& number = req.card->number;
  const std::string last4 = number.size() >= 4 ? number.substr(number.size() - 4) : number;
  auto a =
      keyed(req.idempotency_key,
            "authorize|" + std::to_string(req.amount) + "|" + req.currency + "|" + last4, {},
            [&](keyed_answer& out) {
              if (number == sandbox_declined_card) {
                ++stats_.declines;
                out.intent = error{errc::payment_declined, "card declined (generic_decline)"};
              } else if (number == sandbox_insufficient_funds_card) {
                ++stats_.declines;
                out.intent = error{errc::payment_declined, "card declined (insufficient_funds)"};
              } else if (draw(faults_.decline)) {
                ++stats_.declines;
                out.intent = error{errc::payment_declined, "card declined (injected)"};
              } else {
                ++stats_.authorizations;
                sandbox_intent in;
                in.key = req.idempotency_key;
                in.intent.id = "pi_sbx_" + std::to_string(next_id_++);
                in.intent.status = intent_status::requires_capture;
                in.intent.raw_status = "requires_capture";
                in.intent.amount = req.amount;
                in.intent.amount_capturable = req.amount;
                out.intent = in.intent;
                emit("payment_intent.amount_capturable_updated", in.intent.id);
                intents_.emplace(in.intent.id, std::move(in));
              }
            });
  if (!a) return a.err();
  return (*a)->intent;
}

result<psp_intent> sandbox_psp::capture(std::string_view intent, std::int64_t amount,
                                        std::string_view idempotency_key) {
  std::lock_guard lock(mu_);
  auto a = keyed(
      idempotency_key, "capture|" + std::string(intent) + "|" + std::to_string(amount), intent,
      [&](keyed_answer& out) {
        auto it = intents_.find(intent);
        if (it == intents_.end()) {
          out.intent = error{errc::invalid_argument, "sandbox PSP: no such intent"};
          return;
        }
        psp_intent& in = it->second.intent;
        if (in.status != intent_status::requires_capture) {
          out.intent = error{errc::invalid_argument, "sandbox PSP: intent is " + in.raw_status +
                                                         "; only requires_capture can be captured"};
        } else if (amount <= 0 || amount > in.amount_capturable) {
          out.intent =
              error{errc::invalid_argument, "sandbox PSP: amount_to_capture must be in (0, " +
                                                std::to_string(in.amount_capturable) + "]"};
        } else {
          ++stats_.captures;
          ++it->second.captures;
          in.status = intent_status::succeeded;
          in.raw_status = "succeeded";
          in.amount_received = amount;
          in.amount_capturable = 0;
          out.intent = in;
          emit("payment_intent.succeeded", in.id);
        }
      });
  if (!a) return a.err();
  return (*a)->intent;
}

result<psp_intent> sandbox_psp::cancel(std::string_view intent, std::string_view idempotency_key) {
  std::lock_guard lock(mu_);
  auto a = keyed(idempotency_key, "cancel|" + std::string(intent), intent, [&](keyed_answer& out) {
    auto it = intents_.find(intent);
    if (it == intents_.end()) {
      out.intent = error{errc::invalid_argument, "sandbox PSP: no such intent"};
      return;
    }
    psp_intent& in = it->second.intent;
    if (in.status != intent_status::requires_capture) {
      out.intent = error{errc::invalid_argument, "sandbox PSP: intent is " + in.raw_status +
                                                     "; only requires_capture can be canceled"};
      return;
    }
    ++stats_.cancels;
    in.status = intent_status::canceled;
    in.raw_status = "canceled";
    in.amount_capturable = 0;
    out.intent = in;
    emit("payment_intent.canceled", in.id);
  });
  if (!a) return a.err();
  return (*a)->intent;
}

result<psp_refund> sandbox_psp::refund(std::string_view intent, std::int64_t amount,
                                       std::string_view idempotency_key) {
  std::lock_guard lock(mu_);
  auto a =
      keyed(idempotency_key, "refund|" + std::string(intent) + "|" + std::to_string(amount), intent,
            [&](keyed_answer& out) {
              auto it = intents_.find(intent);
              if (it == intents_.end()) {
                out.refund = error{errc::invalid_argument, "sandbox PSP: no such intent"};
                return;
              }
              sandbox_intent& in = it->second;
              const std::int64_t left = in.intent.amount_received - in.refunded;
              if (in.intent.status != intent_status::succeeded || amount <= 0 || amount > left) {
                out.refund = error{errc::invalid_argument, "sandbox PSP: refund must be in (0, " +
                                                               std::to_string(left) +
                                                               "] of a captured intent"};
                return;
              }
              ++stats_.refunds;
              ++in.refunds;
              in.refunded += amount;
              out.refund = psp_refund{"re_sbx_" + std::to_string(next_id_++), amount};
              emit("charge.refunded", in.intent.id);
            });
  if (!a) return a.err();
  return (*a)->refund;
}

result<psp_intent> sandbox_psp::retrieve(std::string_view intent) {
  std::lock_guard lock(mu_);
  const fault f = draw_fault();
  if (f != fault::none) {
    ++(f == fault::timeout ? stats_.timeouts : stats_.server_errors);
    return f == fault::timeout ? unavailable_timeout : unavailable_5xx;
  }
  auto it = intents_.find(intent);
  if (it == intents_.end()) return error{errc::invalid_argument, "sandbox PSP: no such intent"};
  return it->second.intent;
}

std::vector<psp_event> sandbox_psp::take_events() {
  std::lock_guard lock(mu_);
  std::vector<psp_event> out = std::move(events_);
  events_.clear();
  out.insert(out.end(), due_.begin(), due_.end());
  due_ = std::move(held_);
  held_.clear();
  return out;
}

std::optional<sandbox_intent> sandbox_psp::find(std::string_view intent) const {
  std::lock_guard lock(mu_);
  auto it = intents_.find(intent);
  if (it == intents_.end()) return std::nullopt;
  return it->second;
}

std::vector<sandbox_intent> sandbox_psp::intents() const {
  std::lock_guard lock(mu_);
  std::vector<sandbox_intent> out;
  for (const auto& [id, in] : intents_) out.push_back(in);
  return out;
}

sandbox_stats sandbox_psp::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace rideshard::payments
