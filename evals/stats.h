// Statistics of eval results: the Wilson score interval of a success rate, the unbiased pass@k
// estimator, and the exact two-sided sign test (McNemar's exact test on paired outcomes).
// Thread-safe: pure functions.
#pragma once

namespace drover::evals {

struct Interval {
  double low = 0;
  double high = 1;
};

// The 95% Wilson score interval of `successes` out of `trials`; [0, 1] when trials is 0.
// REQUIRES: 0 <= successes <= trials.
Interval Wilson(int successes, int trials);

// The probability that at least one of k samples drawn without replacement from `trials`
// runs, `successes` of them good, is good: 1 - C(n-c, k) / C(n, k). 0 when trials is 0.
// REQUIRES: 0 <= successes <= trials, k >= 1; k is capped at trials.
double PassAtK(int trials, int successes, int k);

// Exact two-sided p-value of the sign test: `better` pairs went one way, `worse` the other
// (ties left out). With one outcome per pair this is McNemar's exact test. 1 when both are 0.
double SignTestP(int better, int worse);

}  // namespace drover::evals
