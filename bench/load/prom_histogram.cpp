// prom_histogram: parsing the text exposition format and histogram_quantile.
#include "prom_histogram.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace rideshard::load {

namespace {

/// The value after the last space of a sample line.
double sample_value(const std::string& line) {
  const auto sp = line.rfind(' ');
  return sp == std::string::npos ? 0 : std::strtod(line.c_str() + sp + 1, nullptr);
}

double le_of(const std::string& line) {
  const auto at = line.find("le=\"");
  if (at == std::string::npos) return std::numeric_limits<double>::quiet_NaN();
  const std::string v = line.substr(at + 4, line.find('"', at + 4) - at - 4);
  return v == "+Inf" ? std::numeric_limits<double>::infinity() : std::strtod(v.c_str(), nullptr);
}

}  // namespace

prom_histogram prom_histogram::parse(const std::string& text, const std::string& name) {
  prom_histogram h;
  std::istringstream in(text);
  std::string line;
  const std::string bucket = name + "_bucket", count = name + "_count", sum = name + "_sum";
  auto starts = [&](const std::string& p) {
    return line.rfind(p, 0) == 0 && line.size() > p.size() &&
           (line[p.size()] == '{' || line[p.size()] == ' ');
  };
  while (std::getline(in, line)) {
    if (starts(bucket))
      h.buckets.emplace_back(le_of(line), sample_value(line));
    else if (starts(count))
      h.count = sample_value(line);
    else if (starts(sum))
      h.sum = sample_value(line);
  }
  std::sort(h.buckets.begin(), h.buckets.end());
  return h;
}

prom_histogram prom_histogram::since(const prom_histogram& earlier) const {
  prom_histogram d = *this;
  d.count -= earlier.count;
  d.sum -= earlier.sum;
  for (std::size_t i = 0; i < d.buckets.size() && i < earlier.buckets.size(); ++i)
    d.buckets[i].second -= earlier.buckets[i].second;
  return d;
}

double prom_histogram::quantile(double q) const {
  if (buckets.empty() || count <= 0) return 0;
  const double rank = q * buckets.back().second;
  double lo = 0, below = 0;
  for (const auto& [le, cum] : buckets) {
    if (cum >= rank) {
      if (std::isinf(le)) return lo;  // beyond the last finite bound: report that bound
      const double in_bucket = cum - below;
      return in_bucket <= 0 ? le : lo + (le - lo) * (rank - below) / in_bucket;
    }
    lo = le;
    below = cum;
  }
  return lo;
}

double prom_histogram::fraction_at_most(double le) const {
  if (buckets.empty() || buckets.back().second <= 0) return 0;
  double at = 0;
  for (const auto& [bound, cum] : buckets)
    if (bound <= le) at = cum;
  return at / buckets.back().second;
}

}  // namespace rideshard::load
