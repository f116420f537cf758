// A Prometheus histogram read from /metrics text: cumulative buckets, count and
// sum, the difference of two scrapes, and quantiles interpolated within buckets.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace rideshard::load {

/// One scrape of one histogram (no labels). A value type.
struct prom_histogram {
  std::vector<std::pair<double, double>>
      buckets;  ///< (le, cumulative count), le ascending; +Inf last
  double count = 0;
  double sum = 0;

  /// Parses `name`_bucket/_count/_sum from Prometheus text; empty if absent.
  static prom_histogram parse(const std::string& text, const std::string& name);
  /// What was observed between `earlier` and this scrape (same buckets).
  prom_histogram since(const prom_histogram& earlier) const;
  /// The q-quantile (0..1) as Prometheus' histogram_quantile computes it: linear
  /// within the bucket holding the rank; the highest finite bound if it falls in +Inf.
  double quantile(double q) const;
  /// Fraction of observations <= `le` (exact when `le` is a bucket bound).
  double fraction_at_most(double le) const;
};

}  // namespace rideshard::load
