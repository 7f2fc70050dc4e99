#include "evals/stats.h"

#include <algorithm>
#include <cmath>

namespace drover::evals {

Interval Wilson(int successes, int trials) {
  if (trials <= 0) return {};
  constexpr double kZ = 1.959963984540054;  // The normal quantile of 0.975.
  double n = trials;
  double p = successes / n;
  double z2 = kZ * kZ;
  double denominator = 1 + z2 / n;
  double center = (p + z2 / (2 * n)) / denominator;
  double half = kZ * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator;
  return {std::max(0.0, center - half), std::min(1.0, center + half)};
}

double PassAtK(int trials, int successes, int k) {
  if (trials <= 0) return 0;
  k = std::min(k, trials);
  int failures = trials - successes;
  if (failures < k) return 1;
  // C(f, k) / C(n, k) as a product, which stays within double range.
  double all_fail = 1;
  for (int i = failures + 1; i <= trials; ++i) all_fail *= 1.0 - static_cast<double>(k) / i;
  return 1 - all_fail;
}

double SignTestP(int better, int worse) {
  int n = better + worse;
  if (n == 0) return 1;
  int tail = std::min(better, worse);
  // log C(n, i) - n log 2, summed over the smaller tail.
  double sum = 0;
  for (int i = 0; i <= tail; ++i) {
    sum += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) -
                    n * std::log(2.0));
  }
  return std::min(1.0, 2 * sum);
}

}  // namespace drover::evals
