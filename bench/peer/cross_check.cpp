// cross_check: exact k-nearest sets from the generated data vs each peer's answer.
#include "peer/cross_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <string>

namespace rideshard::peer {

namespace {

enum class verdict { exact, tie, wrong };

// Exact if the id sets match; tie if every difference lies within the tolerance
// of the boundary distance (the k-th neighbour's, or the radius when fewer).
verdict judge(const nearest_oracle& oracle, lat_lng q,
              const std::vector<std::pair<std::uint64_t, double>>& truth,
              std::vector<std::uint64_t> answer, double radius_m, std::uint32_t k) {
  std::vector<std::uint64_t> expect;
  for (const auto& t : truth) expect.push_back(t.first);
  std::sort(expect.begin(), expect.end());
  std::sort(answer.begin(), answer.end());
  if (answer == expect) return verdict::exact;
  if (answer.size() > k || std::adjacent_find(answer.begin(), answer.end()) != answer.end())
    return verdict::wrong;
  const double boundary = truth.size() == k ? truth.back().second : radius_m;
  std::vector<std::uint64_t> diff;
  std::set_symmetric_difference(answer.begin(), answer.end(), expect.begin(), expect.end(),
                                std::back_inserter(diff));
  for (std::uint64_t id : diff) {
    const double d = oracle.distance_to(q, id);
    if (d < 0 || std::abs(d - boundary) > tie_tolerance_m) return verdict::wrong;
  }
  return verdict::tie;
}

std::string describe(const nearest_oracle& oracle, lat_lng q, std::size_t i, const char* peer,
                     const std::vector<std::uint64_t>& got,
                     const std::vector<std::pair<std::uint64_t, double>>& truth) {
  std::string s = std::string(peer) + " query " + std::to_string(i) + ": " +
                  std::to_string(got.size()) + " ids, expected " + std::to_string(truth.size());
  std::vector<std::uint64_t> a = got, e;
  for (const auto& t : truth) e.push_back(t.first);
  std::sort(a.begin(), a.end());
  std::sort(e.begin(), e.end());
  std::vector<std::uint64_t> extra, missing;
  std::set_difference(a.begin(), a.end(), e.begin(), e.end(), std::back_inserter(extra));
  std::set_difference(e.begin(), e.end(), a.begin(), a.end(), std::back_inserter(missing));
  auto list = [&](const char* what, const std::vector<std::uint64_t>& ids) {
    s += std::string("; ") + what + ":";
    for (std::size_t j = 0; j < ids.size() && j < 4; ++j) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " %llu@%.1fm", static_cast<unsigned long long>(ids[j]),
                    oracle.distance_to(q, ids[j]));
      s += buf;
    }
  };
  list("extra", extra);
  list("missing", missing);
  if (!truth.empty()) s += "; 10th at " + std::to_string(truth.back().second) + " m";
  return s;
}

}  // namespace

cross_check compare_answers(const fleet_data& data, std::size_t count, double radius_m,
                            std::uint32_t k, const std::vector<std::vector<std::uint64_t>>& redis,
                            const std::vector<std::vector<std::uint64_t>>& rideshard,
                            bool have_redis, bool have_rideshard) {
  cross_check c;
  c.queries = count;
  const nearest_oracle oracle(data.drivers);
  for (std::size_t i = 0; i < count && i < data.queries.size(); ++i) {
    const lat_lng q = data.queries[i];
    const auto truth = oracle.nearest(q, radius_m, k);
    verdict vr = verdict::wrong, vs = verdict::wrong;
    if (have_redis && i < redis.size()) vr = judge(oracle, q, truth, redis[i], radius_m, k);
    if (have_rideshard && i < rideshard.size())
      vs = judge(oracle, q, truth, rideshard[i], radius_m, k);
    c.redis_exact += vr == verdict::exact;
    c.redis_within_tol += vr == verdict::tie;
    c.rideshard_exact += vs == verdict::exact;
    c.rideshard_within_tol += vs == verdict::tie;
    c.peers_agree += vr != verdict::wrong && vs != verdict::wrong;
    if (c.first_problem.empty() && have_redis && vr == verdict::wrong)
      c.first_problem = describe(oracle, q, i, "redis", redis[i], truth);
    if (c.first_problem.empty() && have_rideshard && vs == verdict::wrong)
      c.first_problem = describe(oracle, q, i, "rideshard", rideshard[i], truth);
  }
  return c;
}

}  // namespace rideshard::peer
